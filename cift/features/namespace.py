"""The Polars expression namespace ``.cift``: every registered feature on an expression.

::

    bars.with_columns(
        pl.col("close").cift.ema(20).over("symbol").alias("ema20"),
        pl.col("close").cift.atr(14).over("symbol").alias("atr14"),   # high/low columns by name
        pl.col("close").cift.macd(12, 26, 9).alias("macd"),  # struct: macd, macdsignal, macdhist
    )

The expression is the feature's primary input (``real``, ``close`` or ``price``, else its first
input but ``ts``: ``pl.col("bid_px").cift.ofi(100)``); its other inputs default to the columns of
the same name (``high``, ``low``, ``volume``, ``ts``, ``ask_px``, ...) and can be named as keywords
(``atr(14, high="h", low="l")``). Parameters are positional or keyword, in TA-Lib's
order, and are validated when the expression is built. Features with several outputs give a
struct column. ``.over("symbol")`` computes per symbol.
"""

from __future__ import annotations

import polars as pl

from cift.features import api
from cift.features.registry import REGISTRY, FeatureSpec

__all__ = ["FeatureNamespace"]

_PRIMARY = ("real", "close", "price")


def _method(spec: FeatureSpec):
    primary = next((i for i in spec.inputs if i in _PRIMARY),
                   next(i for i in spec.inputs if i != "ts"))
    others = [i for i in spec.inputs if i != primary]
    fn = getattr(api, spec.name)

    def method(self: FeatureNamespace, *args: object, **kwargs: object) -> pl.Expr:
        columns = {i: kwargs.pop(i, i) for i in others}
        values = spec.bind(args, kwargs)
        exprs = [self._expr] + [pl.col(c) if isinstance(c, str) else c for c in columns.values()]

        def compute(s: pl.Series) -> pl.Series:
            frame = s.struct.unnest()
            arrays = {primary: frame.to_series(0).to_numpy()}
            arrays.update({i: frame.to_series(j + 1).to_numpy() for j, i in enumerate(others)})
            out = fn(*(arrays[i] for i in spec.inputs), **values)
            if len(spec.outputs) == 1:
                return pl.Series(out, dtype=pl.Float64)
            return pl.DataFrame(dict(zip(spec.outputs, out))).to_struct()

        dtype = pl.Float64 if len(spec.outputs) == 1 else pl.Struct(
            {o: pl.Float64 for o in spec.outputs})
        return pl.struct(*exprs).map_batches(compute, return_dtype=dtype)

    method.__name__ = spec.name
    method.__doc__ = fn.__doc__
    return method


class FeatureNamespace:
    """``pl.col(...).cift.<feature>(...)``: see the module docstring (registered on Polars
    by :func:`cift._namespace.register`, which loads this module on first use)."""

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr


for _spec in REGISTRY.values():
    setattr(FeatureNamespace, _spec.name, _method(_spec))

del _spec
