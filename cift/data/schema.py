"""The data model of DESIGN.md as Polars schemas: the columns and dtypes of each table."""

from __future__ import annotations

import polars as pl

__all__ = ["BARS", "QUOTES", "TABLES", "TICKS", "TS"]

#: Every timestamp in cift: UTC, nanoseconds.
TS = pl.Datetime("ns", "UTC")

TICKS: dict[str, pl.DataType] = {
    "ts": TS,
    "symbol": pl.String(),
    "price": pl.Float64(),
    "size": pl.Float64(),
    "side": pl.Int8(),  # +1 buyer-initiated, -1 seller-initiated, 0 unknown
}

QUOTES: dict[str, pl.DataType] = {
    "ts": TS,
    "symbol": pl.String(),
    "bid_px": pl.Float64(),
    "bid_sz": pl.Float64(),
    "ask_px": pl.Float64(),
    "ask_sz": pl.Float64(),
}

BARS: dict[str, pl.DataType] = {
    "ts": TS,  # bar open
    "symbol": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "vwap": pl.Float64(),
    "trades": pl.Int64(),
}

#: Tables a store accepts writes for, by name.
TABLES: dict[str, dict[str, pl.DataType]] = {"ticks": TICKS, "quotes": QUOTES}
