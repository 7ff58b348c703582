"""Market data for the event engine: trades (or bars) and quotes as checked NumPy columns.

The engine walks two sources in time order, so they are only checked and converted here,
never merged or copied row by row: ticks and quotes in the data model's schema (``symbol``
and ``side`` may be left out for one symbol), or bars (ts, open, high, low, close, and
optionally symbol and volume).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import polars as pl

from cift.data.checks import POSITIVE, first_breaking_in
from cift.data.codes import recode, symbol_codes
from cift.data.timestamps import parse_ts_column
from cift.data.validate import validate_quotes, validate_ticks
from cift.errors import DataError, ParameterError
from cift.features.kernels import first_decrease

__all__ = ["MarketSources", "market_sources"]

_ONE_SYMBOL = "_"  # the symbol of data that names none


class MarketSources(NamedTuple):
    """The engine's view of the data: the arrays tuple, the symbol names (code order), the
    trades or bars frame (features are computed on it; its symbol codes are arrays[1])."""

    arrays: tuple
    symbols: list[str]
    trades: pl.DataFrame
    bars: bool

    @property
    def events(self) -> int:
        return len(self.arrays[0]) + len(self.arrays[7])


def _with_defaults(df: pl.DataFrame, name: str, defaults: dict[str, pl.Expr]) -> pl.DataFrame:
    if not isinstance(df, pl.DataFrame):
        raise ParameterError(f"{name}: expected a Polars DataFrame, got {type(df).__name__}")
    missing = {k: v for k, v in defaults.items() if k not in df.columns}
    return df.with_columns(**missing) if missing else df


def _sorted_ts(ts: pl.Series, source: str) -> np.ndarray:
    out = np.ascontiguousarray(
        ts.dt.epoch("ns").to_numpy() if ts.dtype != pl.Int64 else ts.to_numpy(), np.int64)
    back = first_decrease(out)
    if back >= 0:
        raise DataError("timestamps must not decrease (sort by ts first)", source=source,
                        row=back + 1, field="ts")
    return out


def _positive(prices: list[tuple[str, str, np.ndarray]]) -> None:
    """Raise on the first price that is not positive, of (source, field, column) in order."""
    if not prices:
        return
    rows = first_breaking_in([x for *_, x in prices], [POSITIVE] * len(prices))
    for (source, field, _), row in zip(prices, rows, strict=True):
        if row >= 0:
            what = "quote" if source == "quotes" else "trade"
            raise DataError(f"a {what} price is not positive", source=source, row=row + 1,
                            field=field)


def _symbol_codes(columns: list[pl.Series]) -> tuple[list[str], list[np.ndarray]]:
    """The sorted names of the symbols of all ``columns``, and each column's codes into them.

    Each column is coded on its own thread (the kernels release the GIL), in order of first
    appearance, then mapped to the sorted names' codes (skipped when they already agree).
    """
    with ThreadPoolExecutor(len(columns)) as pool:
        local = list(pool.map(symbol_codes, columns))
        firsts = [c.gather(first).to_list() for c, (_, first) in zip(columns, local, strict=True)]
        symbols = sorted(set().union(*firsts))
        code = {name: i for i, name in enumerate(symbols)}
        recoding = []
        for (c, _), names in zip(local, firsts, strict=True):
            table = np.array([code[n] for n in names], np.int32)
            if not np.array_equal(table, np.arange(len(table))):
                recoding.append(pool.submit(recode, c, table))
        for job in recoding:
            job.result()
    return symbols, [c for c, _ in local]


def _checked_bars(bars: pl.DataFrame) -> pl.DataFrame:
    bars = _with_defaults(bars, "bars", {"symbol": pl.lit(_ONE_SYMBOL),
                                         "volume": pl.lit(0.0)})
    need = ["ts", "open", "high", "low", "close"]
    missing = [c for c in need if c not in bars.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; bars need {need}", source="bars",
                        field=missing[0])
    out = bars.with_columns(  # other columns stay: features may read them
        parse_ts_column(bars["ts"], source="bars").alias("ts"),
        pl.col("symbol").cast(pl.String),
        *(pl.col(c).cast(pl.Float64) for c in ("open", "high", "low", "close", "volume")))
    for c in ("open", "high", "low", "close", "volume"):
        bad = (~out[c].is_finite()).fill_null(True)
        if bad.any():
            raise DataError(f"value {out[c][int(bad.arg_true()[0])]!r} is NaN, missing or "
                            "infinite", source="bars", row=int(bad.arg_true()[0]) + 1, field=c)
    bad = out["high"] < out["low"]
    if bad.any():
        raise DataError("high is below low", source="bars", row=int(bad.arg_true()[0]) + 1,
                        field="high")
    twice = out.select(pl.struct("symbol", "ts").is_duplicated()).to_series()
    if twice.any():
        row = int(twice.arg_true()[0])
        raise DataError(f"a second bar of {out['symbol'][row]!r} at the same ts (one bar "
                        "per symbol and time)", source="bars", row=row + 1, field="ts")
    return out


def market_sources(*, ticks: pl.DataFrame | None = None, quotes: pl.DataFrame | None = None,
                   bars: pl.DataFrame | None = None) -> MarketSources:
    """Check the market data and return the engine's arrays.

    Give bars, or ticks and/or quotes. Each source must be in time order (ties allowed
    between symbols, and between trades); a bad row raises a DataError naming it.
    """
    if bars is not None and (ticks is not None or quotes is not None):
        raise ParameterError("give bars, or ticks and/or quotes, not both")
    if bars is None and ticks is None and quotes is None:
        raise ParameterError("no market data: give bars=, ticks= or quotes=")
    one = {"symbol": pl.lit(_ONE_SYMBOL)}
    if bars is not None:
        trades = _checked_bars(bars)
    elif ticks is not None:
        trades = validate_ticks(_with_defaults(ticks, "ticks", one | {"side": pl.lit(0)}),
                            source="ticks")
    else:
        trades = validate_ticks(pl.DataFrame(schema={"ts": pl.Int64, "symbol": pl.String,
                                                     "price": pl.Float64, "size": pl.Float64,
                                                     "side": pl.Int8}))
    q = (validate_quotes(_with_defaults(quotes, "quotes", one), source="quotes")
         if quotes is not None else None)
    symbols, (t_sym, *q_sym) = _symbol_codes([f["symbol"] for f in (trades, q) if f is not None])

    t_ts = _sorted_ts(trades["ts"], "bars" if bars is not None else "ticks")
    if bars is not None:
        o, h, lo, c, size = (trades[k].to_numpy() for k in ("open", "high", "low", "close",
                                                             "volume"))
    else:
        c, size = trades["price"].to_numpy(), trades["size"].to_numpy()
        o = h = lo = c  # a trade is a bar whose four prices are equal
    if q is not None:
        bid, bid_sz, ask, ask_sz = (q[k].to_numpy() for k in ("bid_px", "bid_sz", "ask_px",
                                                             "ask_sz"))
        quote_arrays = (_sorted_ts(q["ts"], "quotes"), q_sym[0], bid, bid_sz, ask, ask_sz)
    else:
        empty = np.empty(0)
        quote_arrays = (np.empty(0, np.int64), np.empty(0, np.int32), empty, empty, empty,
                        empty)
    arrays = (t_ts, t_sym, *(np.ascontiguousarray(a, dtype=np.float64)
                             for a in (o, h, lo, c, size)), *quote_arrays)
    # the engine's prices must be positive (the data model asks only finite): one parallel pass
    prices = [("quotes", "bid_px", arrays[9]), ("quotes", "ask_px", arrays[11])] if q is not None \
        else []
    if bars is None:
        prices.append(("ticks", "price", arrays[5]))
    _positive(prices)
    return MarketSources(arrays, symbols, trades, bars is not None)
