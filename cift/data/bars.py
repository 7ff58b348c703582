"""Bars from ticks: time bars of any fixed interval, volume bars, dollar bars; the tick rule.

Two Numba passes over ticks grouped by symbol (each symbol one contiguous, time-ordered run):
the first gives every tick its bar number, the second aggregates each bar's contiguous ticks.
Frames from a store arrive grouped already; anything else is sorted by (symbol, ts) first.

Bars exist only where there are trades (no empty bars are filled in). A volume or dollar bar
closes on the tick that brings it to the threshold (ticks are never split); a symbol's last bar
may be short of the threshold.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import polars as pl

from cift.data.schema import BARS, TS
from cift.data.timestamps import parse_duration
from cift.errors import DataError, ParameterError

__all__ = ["apply_tick_rule", "dollar_bars", "tick_rule", "time_bars", "volume_bars"]

_TIME, _VOLUME, _DOLLAR = 0, 1, 2


@nb.njit(cache=True)
def _bar_ids(ts, price, size, run_starts, mode, param, origin):
    """Bar number of every tick; returns (ids, bar count). Runs are symbols."""
    n = ts.shape[0]
    ids = np.empty(n, np.int64)
    bar = -1
    for r in range(run_starts.shape[0] - 1):
        lo, hi = run_starts[r], run_starts[r + 1]
        bucket = np.int64(0)
        acc = 0.0
        for i in range(lo, hi):
            if mode == _TIME:
                b = (ts[i] - origin) // param
                if i == lo or b != bucket:
                    bar += 1
                    bucket = b
            else:
                if i == lo or acc >= param:
                    bar += 1
                    acc = 0.0
                acc += size[i] if mode == _VOLUME else price[i] * size[i]
            ids[i] = bar
    return ids, bar + 1


@nb.njit(cache=True)
def _aggregate(ids, n_bars, ts, price, size):
    """OHLC, volume, vwap, trade count and first row of each bar (ids contiguous, ascending)."""
    first = np.empty(n_bars, np.int64)
    o = np.empty(n_bars)
    h = np.empty(n_bars)
    lo = np.empty(n_bars)
    c = np.empty(n_bars)
    vol = np.zeros(n_bars)
    notional = np.zeros(n_bars)
    trades = np.zeros(n_bars, np.int64)
    prev = -1
    for i in range(ids.shape[0]):
        b = ids[i]
        p = price[i]
        if b != prev:
            first[b] = i
            o[b] = p
            h[b] = p
            lo[b] = p
            prev = b
        elif p > h[b]:
            h[b] = p
        elif p < lo[b]:
            lo[b] = p
        c[b] = p
        vol[b] += size[i]
        notional[b] += p * size[i]
        trades[b] += 1
    vwap = notional / vol  # 0/0 -> NaN for bars of zero volume
    return first, o, h, lo, c, vol, vwap, trades


@nb.njit(cache=True)
def _sorted_within_runs(ts, run_starts):
    for r in range(run_starts.shape[0] - 1):
        for i in range(run_starts[r] + 1, run_starts[r + 1]):
            if ts[i] < ts[i - 1]:
                return False
    return True


@nb.njit(cache=True)
def _tick_rule(price, side, run_starts):
    out = np.empty(price.shape[0], np.int8)
    for r in range(run_starts.shape[0] - 1):
        sign = np.int8(0)
        for i in range(run_starts[r], run_starts[r + 1]):
            if i > run_starts[r]:
                if price[i] > price[i - 1]:
                    sign = np.int8(1)
                elif price[i] < price[i - 1]:
                    sign = np.int8(-1)
            out[i] = side[i] if side[i] != 0 else sign
    return out


def _check_columns(ticks: pl.DataFrame, needed: tuple[str, ...]) -> None:
    if not isinstance(ticks, pl.DataFrame):
        raise DataError(f"expected a polars DataFrame of ticks, got {type(ticks).__name__}")
    missing = [c for c in needed if c not in ticks.columns]
    if missing:
        raise DataError(f"ticks are missing column(s) {missing}", field=missing[0])
    if ticks.get_column("ts").dtype != TS:
        raise DataError("ts must be a UTC nanosecond Datetime (see cift.data.schema.TS)",
                        field="ts")


def _run_starts(symbol: pl.Series) -> np.ndarray:
    """Row index where each run of equal symbols starts, plus the length at the end."""
    run_id = symbol.rle_id().to_numpy()
    starts = np.flatnonzero(np.diff(run_id, prepend=-1)).astype(np.int64)
    return np.append(starts, len(symbol))


def _grouped_by_symbol(ticks: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, bool]:
    """Ticks with each symbol one contiguous ts-ordered run: (frame, run starts, reordered).

    A reordered frame carries ``_row``, each row's index in the input.
    """
    starts = _run_starts(ticks.get_column("symbol"))
    ts = ticks.get_column("ts").to_physical().to_numpy()
    if len(starts) - 1 == ticks.get_column("symbol").n_unique() and \
            _sorted_within_runs(ts, starts):
        return ticks, starts, False
    ticks = ticks.with_row_index("_row").sort(["symbol", "ts"], maintain_order=True)
    return ticks, _run_starts(ticks.get_column("symbol")), True


def _bars(ticks: pl.DataFrame, mode: int, param: int | float, origin: int = 0) -> pl.DataFrame:
    _check_columns(ticks, ("ts", "symbol", "price", "size"))
    if ticks.height == 0:
        return pl.DataFrame(schema=BARS)
    ticks, starts, _ = _grouped_by_symbol(ticks)
    ts = ticks.get_column("ts").to_physical().to_numpy()
    price = ticks.get_column("price").cast(pl.Float64).to_numpy()
    size = ticks.get_column("size").cast(pl.Float64).to_numpy()
    ids, n_bars = _bar_ids(ts, price, size, starts, mode, param, origin)
    first, o, h, lo, c, vol, vwap, trades = _aggregate(ids, n_bars, ts, price, size)
    bar_ts = ts[first]
    if mode == _TIME:
        bar_ts = (bar_ts - origin) // param * param + origin
    bars = pl.DataFrame({
        "ts": pl.Series(bar_ts).cast(TS),
        "symbol": ticks.get_column("symbol").gather(first).cast(pl.String),
        "open": o, "high": h, "low": lo, "close": c, "volume": vol, "vwap": vwap,
        "trades": trades,
    })
    return bars.sort(["ts", "symbol"], maintain_order=True)


def time_bars(ticks: pl.DataFrame, interval: str | int) -> pl.DataFrame:
    """OHLCV time bars of a fixed interval, aligned to the UNIX epoch (UTC midnight for "1d").

    Parameters
    ----------
    ticks : pl.DataFrame
        At least ts (UTC ns), symbol, price, size.
    interval : str or int
        "100ms", "1s", "5m", "1h", "1d", ... or nanoseconds.

    Returns
    -------
    pl.DataFrame
        ts (bar open), symbol, open, high, low, close, volume, vwap, trades; sorted by ts, symbol.
    """
    ns = interval if isinstance(interval, int) and interval > 0 else parse_duration(interval)
    return _bars(ticks, _TIME, ns)


def _threshold(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not np.isfinite(value):
        raise ParameterError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def volume_bars(ticks: pl.DataFrame, volume: float) -> pl.DataFrame:
    """Bars that each hold ``volume`` units traded (a bar's ts is its first tick's ts)."""
    return _bars(ticks, _VOLUME, _threshold(volume, "volume"))


def dollar_bars(ticks: pl.DataFrame, value: float) -> pl.DataFrame:
    """Bars that each hold ``value`` in traded notional (price * size)."""
    return _bars(ticks, _DOLLAR, _threshold(value, "value"))


def tick_rule(price: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
    """Trade signs by the tick rule for one symbol's time-ordered trades.

    An uptick is a buy (+1), a downtick a sell (-1), an unchanged price repeats the last sign
    (0 before the first price change). Known sides (non-zero ``side``) are kept.
    """
    price = np.ascontiguousarray(price, dtype=np.float64)
    side = np.zeros(len(price), np.int8) if side is None else np.ascontiguousarray(side, np.int8)
    if side.shape != price.shape:
        raise ParameterError(f"side: length {len(side)} differs from price length {len(price)}")
    return _tick_rule(price, side, np.array([0, len(price)], np.int64))


def apply_tick_rule(ticks: pl.DataFrame) -> pl.DataFrame:
    """Fill unknown sides (0) of a ticks frame by the tick rule, per symbol, in time order."""
    _check_columns(ticks, ("ts", "symbol", "price", "side"))
    if ticks.height == 0:
        return ticks
    grouped, starts, reordered = _grouped_by_symbol(ticks)
    side = _tick_rule(grouped.get_column("price").cast(pl.Float64).to_numpy(),
                      grouped.get_column("side").cast(pl.Int8).to_numpy(), starts)
    if reordered:  # scatter back to the caller's row order
        out = np.empty_like(side)
        out[grouped.get_column("_row").to_numpy()] = side
        side = out
    return ticks.with_columns(side=pl.Series(side, dtype=pl.Int8))
