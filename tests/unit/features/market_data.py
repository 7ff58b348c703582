"""Data sets the features are checked on: shapes a user's data takes, including bad ones."""

import numpy as np
import polars as pl

from cift.data.bars import time_bars
from cift.data.synthetic import synthetic_market


def _ohlcv_from_walk(rng: np.random.Generator, n: int, scale: float = 1.0) -> dict:
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n))) * scale
    spread = np.abs(rng.normal(0, 0.005, n)) * close
    high = close + spread * rng.uniform(0, 1, n)
    low = close - spread * rng.uniform(0, 1, n)
    volume = rng.integers(1, 5000, n).astype(float)
    return {"high": high, "low": low, "close": close, "volume": volume}


def _datasets() -> dict[str, dict]:
    rng = np.random.default_rng(11)
    sets = {"random walk": _ohlcv_from_walk(rng, 3000)}
    constant = _ohlcv_from_walk(rng, 600)
    for key in constant:  # runs of unchanged values, longer than any window tested
        constant[key][100:300] = constant[key][100]
        constant[key][400:460] = constant[key][400]
    sets["constant runs"] = constant
    gappy = _ohlcv_from_walk(rng, 800)
    for key in gappy:  # a run of missing values, as a feed outage leaves them
        gappy[key][500:520] = np.nan
    sets["NaN run"] = gappy
    late = _ohlcv_from_walk(rng, 700)
    for key in late:  # a symbol listed after the rest of a panel: NaN until its first bar
        late[key][:37] = np.nan
    sets["leading NaN run"] = late
    zeros = _ohlcv_from_walk(rng, 600)
    for key in zeros:  # a run of zero prints (a bad feed, or a series that touches zero)
        zeros[key][200:240] = 0.0
    sets["zero run"] = zeros
    sets["huge magnitudes"] = _ohlcv_from_walk(rng, 1500, 1e9)
    sets["tiny magnitudes"] = _ohlcv_from_walk(rng, 1500, 1e-3)
    # a token quoted in bitcoin (1e-7, ten satoshis): moves of 1e-9, below the 1e-8 that
    # TA-Lib before 0.8 took for zero (its RSI and MFI were 0 here; 0.8's are not)
    sets["satoshi magnitudes"] = _ohlcv_from_walk(rng, 1500, 1e-9)
    quiet = _ohlcv_from_walk(rng, 800)
    for key in ("high", "low", "close"):  # a coarse tick grid: typical prices that repeat
        quiet[key] = np.round(quiet[key] * 4) / 4
    quiet["volume"][300:340] = 0.0  # a halt: no volume for longer than any window
    quiet["volume"][500:800:3] = 0.0  # and a thin market
    sets["halts and a coarse tick grid"] = quiet
    # real-shaped: 1-minute bars of one synthetic symbol (overnight gaps, maybe a halt)
    ticks = synthetic_market(2, 3, ticks_per_session=4000, seed=5).ticks
    bars = time_bars(ticks.filter(pl.col("symbol") == "ACME"), "1m")
    sets["minute bars"] = {c: bars[c].to_numpy() for c in ("high", "low", "close", "volume")}
    return sets


DATASETS = _datasets()


