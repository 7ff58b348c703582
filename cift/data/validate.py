"""Validation of tick and quote frames at the boundary: every write and import goes through here.

A frame either comes out in the exact schema of :mod:`cift.data.schema` (columns in order,
dtypes cast, extra columns dropped) or a :class:`~cift.errors.DataError` names the first bad
row (1-based) and field. Checks are vectorized: one pass over the columns, no per-row Python.
"""

from __future__ import annotations

import polars as pl

from cift.data.schema import TABLES, TS
from cift.data.timestamps import parse_ts_column
from cift.errors import DataError, ParameterError

__all__ = ["validate_frame", "validate_quotes", "validate_ticks"]

# Rules beyond the dtype: (column, bad-row expression, message).
_PRICE_RULE = "is NaN or infinite"
_SIZE_RULE = "is negative, NaN or infinite"


def _rules(table: str) -> list[tuple[str, pl.Expr, str]]:
    def finite(c: str) -> tuple[str, pl.Expr, str]:
        return c, ~pl.col(c).is_finite(), _PRICE_RULE

    def size(c: str) -> tuple[str, pl.Expr, str]:
        return c, ~pl.col(c).is_finite() | (pl.col(c) < 0), _SIZE_RULE

    symbol = ("symbol", pl.col("symbol").str.len_bytes() == 0, "is empty")
    if table == "ticks":
        side = ("side", ~pl.col("side").is_in([-1, 0, 1]), "must be -1, 0 or +1")
        return [symbol, finite("price"), size("size"), side]
    return [symbol, finite("bid_px"), size("bid_sz"), finite("ask_px"), size("ask_sz")]


_WORDS = {pl.Float64: "a number", pl.Int8: "an integer", pl.String: "text"}


def _cast_column(col: pl.Series, dtype: pl.DataType, source: str) -> pl.Series:
    """Cast one column, naming the first value that does not fit the dtype."""
    name, src = col.name, col.dtype
    if src == dtype:
        return col
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
        raise DataError(f"expected {_WORDS[dtype]}, got {col[row]!r}", source=source,
                        row=row + 1, field=name)
    return cast


def validate_frame(
    df: pl.DataFrame,
    table: str,
    *,
    source: str = "frame",
    ts_unit: str | None = None,
    tz: str | None = None,
) -> pl.DataFrame:
    """Check a frame against a table of the data model and return it in that exact schema.

    Parameters
    ----------
    df : pl.DataFrame
        Ticks or quotes with at least the table's columns (extra columns are dropped).
    table : {"ticks", "quotes"}
    source : str
        Name of the file or frame, used in error messages.
    ts_unit, tz : optional
        How to read epoch numbers and naive timestamps (see :func:`parse_ts_column`).

    Returns
    -------
    pl.DataFrame
        The table's columns in order, with the table's dtypes.

    Raises
    ------
    DataError
        A missing column, a value of the wrong type, a missing or unparsable timestamp,
        a NaN/infinite price, a negative size, a side other than -1/0/+1, an empty symbol.
    """
    if table not in TABLES:
        raise ParameterError(f"table: expected one of {list(TABLES)}, got {table!r}")
    if not isinstance(df, pl.DataFrame):
        raise DataError(f"expected a polars DataFrame, got {type(df).__name__}", source=source)
    schema = TABLES[table]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; a {table} frame needs {list(schema)} "
            f"(map other names with a column mapping)", source=source, field=missing[0])

    columns = []
    for name, dtype in schema.items():
        col = df.get_column(name)
        if dtype == TS:
            col = parse_ts_column(col, unit=ts_unit, tz=tz, source=source)
        else:
            col = _cast_column(col, dtype, source)
            if col.null_count():
                row = int(col.is_null().arg_true()[0]) + 1
                raise DataError("missing value", source=source, row=row, field=name)
        columns.append(col)
    out = pl.DataFrame(columns)

    rules = _rules(table)
    first_bad = out.select(
        [expr.arg_true().first().alias(str(i)) for i, (_, expr, _) in enumerate(rules)]
    ).row(0)
    hits = [(row, i) for i, row in enumerate(first_bad) if row is not None]
    if hits:
        row, i = min(hits)
        name, _, message = rules[i]
        raise DataError(f"value {out[name][row]!r} {message}", source=source, row=row + 1,
                        field=name)
    return out


def validate_ticks(df: pl.DataFrame, *, source: str = "frame") -> pl.DataFrame:
    """:func:`validate_frame` for the ticks table."""
    return validate_frame(df, "ticks", source=source)


def validate_quotes(df: pl.DataFrame, *, source: str = "frame") -> pl.DataFrame:
    """:func:`validate_frame` for the quotes table."""
    return validate_frame(df, "quotes", source=source)
