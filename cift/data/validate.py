"""Validation of tick and quote frames at the boundary: every write and import goes through here.

A frame either comes out in the exact schema of :mod:`cift.data.schema` (columns in order,
dtypes cast, extra columns dropped) or a :class:`~cift.errors.DataError` names the first bad
row (1-based) and field. Checks are vectorized: one pass over the columns, no per-row Python.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from cift.data.checks import FINITE, NON_NEGATIVE, POSITIVE, first_breaking_in, narrowed
from cift.data.codes import enum_as_text
from cift.data.schema import TABLES, TS
from cift.data.timestamps import parse_ts_column
from cift.errors import DataError, ParameterError

__all__ = ["not_a_frame", "validate_frame", "validate_quotes", "validate_ticks"]

# Rules beyond the dtype: (column, rule, message); a rule is a bad-row expression, or one of
# cift.data.checks' rules for float columns (a compiled pass, faster than an expression).
_PRICE = (FINITE, "is NaN or infinite")
_POSITIVE_PRICE = (POSITIVE, "is not a positive number")
_SIZE = (NON_NEGATIVE, "is negative, NaN or infinite")


def _rules(table: str, positive_prices: bool, check_symbols: bool,
           symbol_dtype: pl.DataType) -> list[tuple[str, pl.Expr | int, str]]:
    price = _POSITIVE_PRICE if positive_prices else _PRICE
    empty = (pl.col("symbol") == "") if isinstance(symbol_dtype, pl.Enum) \
        else pl.col("symbol").str.len_bytes() == 0
    rules = [("symbol", empty, "is empty")] if check_symbols else []
    if table == "ticks":
        side = ("side", ~pl.col("side").is_in([-1, 0, 1]), "must be -1, 0 or +1")
        return rules + [("price", *price), ("size", *_SIZE), side]
    return rules + [("bid_px", *price), ("bid_sz", *_SIZE), ("ask_px", *price),
                    ("ask_sz", *_SIZE)]


def _first_bad_rows(out: pl.DataFrame, rules: list) -> list[int | None]:
    """The first row breaking each rule (None where none does)."""
    exprs = {str(i): rule.arg_true().first() for i, (_, rule, _) in enumerate(rules)
             if isinstance(rule, pl.Expr)}
    found = out.select(**exprs).row(0, named=True) if exprs else {}
    numeric = [i for i, (_, rule, _) in enumerate(rules) if not isinstance(rule, pl.Expr)]
    rows = first_breaking_in([out.get_column(rules[i][0]).to_numpy() for i in numeric],
                             [rules[i][1] for i in numeric])
    found |= {str(i): int(r) if r >= 0 else None for i, r in zip(numeric, rows, strict=True)}
    return [found[str(i)] for i in range(len(rules))]


_WORDS = {pl.Float64: "a number", pl.Int8: "an integer", pl.String: "text"}
# a trade's side as text, as exchanges and vendors write it (case and spaces aside): the
# aggressor's side, also as the book side it hit (Databento: A = sell aggressor, B = buy,
# N = none; Tardis: buy/sell/unknown)
_SIDE_WORDS = {"buy": 1, "b": 1, "bid": 1, "sell": -1, "s": -1, "ask": -1, "a": -1,
               "unknown": 0, "none": 0, "n": 0, "1": 1, "+1": 1, "-1": -1, "0": 0}


def _side_from_text(col: pl.Series, source: str) -> pl.Series:
    """``buy``/``sell`` (``b``/``s``, ``bid``/``ask``, ``B``/``A``, or the numbers as text) as
    +1/-1, ``unknown``/``none``/``N`` as 0; any other text is named with its row."""
    words = col.str.strip_chars().str.to_lowercase()
    side = words.replace_strict(_SIDE_WORDS, default=None, return_dtype=pl.Int8)
    unknown = words.is_not_null() & side.is_null()
    if unknown.any():
        row = int(unknown.arg_true()[0])
        raise DataError(f"expected -1, 0, +1, buy, sell or unknown, got {col[row]!r}",
                        source=source, row=row + 1, field=col.name)
    return side


def _cast_column(col: pl.Series, dtype: pl.DataType, source: str) -> pl.Series:
    """Cast one column, naming the first value that does not fit the dtype."""
    name, src = col.name, col.dtype
    if src == dtype:
        return col
    if src.is_integer() and dtype.is_integer() and not col.null_count():
        values = col.to_numpy()
        out = np.empty(len(values), pl.Series(dtype=dtype).to_numpy().dtype)
        info = np.iinfo(out.dtype)
        row = narrowed(values, out, info.min, info.max)
        if row >= 0:
            raise DataError(f"expected {_WORDS[dtype]}, got {col[row]!r}", source=source,
                            row=row + 1, field=name)
        return pl.Series(name, out)
    if src == pl.Float32 and dtype == pl.Float64:
        # by the shortest text that reads back as the same float32, as it prints: a price
        # 185.3 kept as float32 is 185.3, not its widened 185.3000030517578
        return col.cast(pl.String).cast(pl.Float64)
    castable = src == pl.String or (src.is_numeric() and src != pl.Boolean)
    if dtype == pl.String:  # symbols: text, categories, or codes like 1301
        castable = castable or isinstance(src, (pl.Categorical, pl.Enum))
    if not castable:
        raise DataError(f"expected {_WORDS[dtype]}, got a column of {src}", source=source,
                        field=name)
    cast = col.cast(dtype, strict=False)
    lost = col.is_not_null() & cast.is_null()
    if dtype.is_integer() and src.is_float():
        lost = lost | (cast.cast(pl.Float64) != col)
    if lost.any():
        row = int(lost.arg_true()[0])
        hint = (" (a decimal comma? the decimal_comma option reads it, --decimal-comma on "
                "the command line)" if src == pl.String and dtype == pl.Float64
                and re.fullmatch(r"\s*[-+]?\d*,\d+\s*", col[row]) else "")
        raise DataError(f"expected {_WORDS[dtype]}, got {col[row]!r}{hint}", source=source,
                        row=row + 1, field=name)
    return cast


def validate_frame(
    df: pl.DataFrame,
    table: str,
    *,
    source: str = "frame",
    ts_unit: str | None = None,
    ts_format: str | None = None,
    tz: str | None = None,
    day_first: bool | None = None,
    positive_prices: bool = False,
    check_symbols: bool = True,
    enum_symbols: bool = False,
) -> pl.DataFrame:
    """Check a frame against a table of the data model and return it in that exact schema.

    Parameters
    ----------
    df : pl.DataFrame
        Ticks or quotes with at least the table's columns (extra columns are dropped).
    table : {"ticks", "quotes"}
    source : str
        Name of the file or frame, used in error messages.
    ts_unit, tz, ts_format, day_first : optional
        How to read epoch numbers, naive timestamps and text timestamps (see
        :func:`parse_ts_column`).
    positive_prices : bool
        Prices must also be above zero (the event engine's rule; the data model asks only
        that they are finite).
    check_symbols : bool
        False skips the empty-symbol check of every row, for a caller that codes the symbols
        and checks their distinct names (the event engine).
    enum_symbols : bool
        True keeps a symbol column of dtype ``pl.Enum`` as it is (the importer's, for a store,
        which codes symbols anyway: a String column of 10M symbols costs 90 ms and 160 MB to
        make); by default it becomes String like any other.

    Returns
    -------
    pl.DataFrame
        The table's columns in order, with the table's dtypes (an Enum symbol column kept
        under ``enum_symbols``).

    Raises
    ------
    DataError
        A missing column, a value of the wrong type, a missing or unparsable timestamp,
        a NaN/infinite price, a negative size, a side other than -1/0/+1 (or buy/sell as
        text), an empty symbol.
    """
    if table not in TABLES:
        raise ParameterError(f"table: expected one of {list(TABLES)}, got {table!r}")
    if not isinstance(df, pl.DataFrame):
        raise DataError(f"expected a polars DataFrame, got {not_a_frame(df)}", source=source)
    schema = TABLES[table]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; a {table} frame needs {list(schema)} "
            f"(map other names with a column mapping)", source=source, field=missing[0])

    columns = []
    for name, dtype in schema.items():
        col = df.get_column(name)
        if col.dtype == pl.Null:  # no values at all: a file with a header and no rows (a
            # holiday's), or a column left empty in every row
            if col.len():
                raise DataError(_missing(table, name), source=source, row=1, field=name)
            col = col.cast(dtype)
        if dtype == TS:
            col = parse_ts_column(col, unit=ts_unit, tz=tz, source=source, format=ts_format,
                                  day_first=day_first)
        else:
            if name == "side" and col.dtype == pl.Boolean:
                raise DataError("expected -1, 0, +1, buy or sell, got true/false (a "
                                "buyer-is-maker flag, as in Binance's trades? the "
                                "buyer_maker option reads it, --buyer-maker on the command "
                                "line)", source=source, field=name)
            if name == "side" and col.dtype == pl.String:
                col = _side_from_text(col, source)
            elif name == "symbol" and isinstance(col.dtype, pl.Enum):
                col = col if enum_symbols else enum_as_text(col)
            else:
                col = _cast_column(col, dtype, source)
            if col.null_count():
                row = int(col.is_null().arg_true()[0]) + 1
                raise DataError(_missing(table, name), source=source, row=row, field=name)
        columns.append(col)
    out = pl.DataFrame(columns)

    rules = _rules(table, positive_prices, check_symbols, out.schema["symbol"])
    first_bad = _first_bad_rows(out, rules)
    hits = [(row, i) for i, row in enumerate(first_bad) if row is not None]
    if hits:
        row, i = min(hits)
        name, _, message = rules[i]
        raise DataError(f"value {out[name][row]!r} {message}{_ONE_SIDED.get(name, '')}",
                        source=source, row=row + 1, field=name)
    return out


# vendors leave a quote's price empty (or NaN) where that side of the book is empty
_ONE_SIDED = dict.fromkeys(("bid_px", "ask_px"), " (a quote needs both sides: drop the rows "
                                                 "of one-sided quotes before storing them)")


def _missing(table: str, name: str) -> str:
    if name == "side":
        return "missing value (side 0 is unknown: fill_null(0) where that is what it means)"
    return "missing value" + (_ONE_SIDED.get(name, "") if table == "quotes" else "")


def not_a_frame(obj: object) -> str:
    """What ``obj`` is, for an error that wanted a Polars DataFrame, with how to make one
    of a pandas frame or a LazyFrame."""
    kind = f"{type(obj).__module__.split('.')[0]}.{type(obj).__name__}"
    hint = {"pandas.DataFrame": " (polars.from_pandas(df) converts it)",
            "polars.LazyFrame": " (collect() it first)"}.get(kind, "")
    return kind + hint


def validate_ticks(df: pl.DataFrame, *, source: str = "frame",
                   positive_prices: bool = False, check_symbols: bool = True) -> pl.DataFrame:
    """:func:`validate_frame` for the ticks table."""
    return validate_frame(df, "ticks", source=source, positive_prices=positive_prices,
                          check_symbols=check_symbols)


def validate_quotes(df: pl.DataFrame, *, source: str = "frame",
                    positive_prices: bool = False, check_symbols: bool = True) -> pl.DataFrame:
    """:func:`validate_frame` for the quotes table."""
    return validate_frame(df, "quotes", source=source, positive_prices=positive_prices,
                          check_symbols=check_symbols)
