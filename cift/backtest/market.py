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

from cift.data.codes import recode, symbol_codes
from cift.data.timestamps import parse_ts_column
from cift.data.validate import not_a_frame, validate_quotes, validate_ticks
from cift.errors import DataError, ParameterError
from cift.features.kernels import first_decrease

__all__ = ["MarketSources", "market_sources"]

_ONE_SYMBOL = "_"  # the symbol of data that names none
# the engine's prices must be positive (the data model asks only finite), checked in the
# validation's pass; symbols are checked on their distinct names once coded (_sorted_names)
_ENGINE_RULES = {"positive_prices": True, "check_symbols": False}


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
        raise ParameterError(f"{name}: expected a Polars DataFrame, got {not_a_frame(df)}")
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


def _sorted_names(pool: ThreadPoolExecutor, sources: list[tuple[str, pl.DataFrame]],
                  local: list[tuple[np.ndarray, np.ndarray]]) -> tuple[list[str], list]:
    """The sorted names of the symbols of all ``sources`` (name, frame), and each source's
    codes (``local``: in order of first appearance) mapped to them in place on the pool's
    threads (skipped where they already agree). An empty symbol is named at its first row:
    the distinct names are checked here, not every row.
    """
    firsts = [f["symbol"].gather(first).to_list()
              for (_, f), (_, first) in zip(sources, local, strict=True)]
    for (source, _), names, (_, first) in zip(sources, firsts, local, strict=True):
        if "" in names:
            raise DataError("value '' is empty", source=source,
                            row=int(first[names.index("")]) + 1, field="symbol")
    symbols = sorted(set().union(*firsts))
    code = {name: i for i, name in enumerate(symbols)}
    recoding = []
    for (c, _), names in zip(local, firsts, strict=True):
        table = np.array([code[n] for n in names], np.int32)
        if not np.array_equal(table, np.arange(len(table))):
            recoding.append(pool.submit(recode, c, table, c))
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
                                source="ticks", **_ENGINE_RULES)
    else:
        trades = validate_ticks(pl.DataFrame(schema={"ts": pl.Int64, "symbol": pl.String,
                                                     "price": pl.Float64, "size": pl.Float64,
                                                     "side": pl.Int8}))
    q = (validate_quotes(_with_defaults(quotes, "quotes", one), source="quotes",
                         **_ENGINE_RULES) if quotes is not None else None)
    sources = [("bars" if bars is not None else "ticks", trades)]
    if q is not None:
        sources.append(("quotes", q))
    with ThreadPoolExecutor(2) as pool:  # the kernels release the GIL
        # in order: the quotes' symbols (the longest job) take one thread; the other codes
        # the trades' symbols, then reads both ts columns
        coding = [pool.submit(symbol_codes, f["symbol"]) for _, f in sources]
        times = [pool.submit(_sorted_ts, f["ts"], source) for source, f in sources]
        symbols, (t_sym, *q_sym) = _sorted_names(pool, sources, [c.result() for c in coding])
        t_ts, *q_ts = (t.result() for t in times)
    if bars is not None:
        o, h, lo, c, size = (trades[k].to_numpy() for k in ("open", "high", "low", "close",
                                                             "volume"))
    else:
        c, size = trades["price"].to_numpy(), trades["size"].to_numpy()
        o = h = lo = c  # a trade is a bar whose four prices are equal
    if q is not None:
        bid, bid_sz, ask, ask_sz = (q[k].to_numpy() for k in ("bid_px", "bid_sz", "ask_px",
                                                             "ask_sz"))
        quote_arrays = (q_ts[0], q_sym[0], bid, bid_sz, ask, ask_sz)
    else:
        empty = np.empty(0)
        quote_arrays = (np.empty(0, np.int64), np.empty(0, np.int32), empty, empty, empty,
                        empty)
    arrays = (t_ts, t_sym, *(np.ascontiguousarray(a, dtype=np.float64)
                             for a in (o, h, lo, c, size)), *quote_arrays)
    return MarketSources(arrays, symbols, trades, bars is not None)
