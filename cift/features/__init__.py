"""Features: Numba kernels behind a TA-Lib-compatible NumPy API, with a registry.

``from cift import features as ta`` then ``ta.rsi(close, 14)``: see :mod:`cift.features.api`
for the conventions and :func:`describe` for the list. ``stream.<feature>(params)`` is each
feature's incremental twin (:mod:`cift.features.stream`). Importing this package also registers
the Polars namespace ``pl.col("close").cift.ema(20)`` (:mod:`cift.features.namespace`).
"""

from cift.features.api import (
    adx, atr, bbands, cci, ema, logret, macd, mfi, natr, obv, roc, rsi, sma, stddev, stoch,
    trange, var, vwap, willr, wma, zscore,
)
from cift.features import stream
from cift.features.namespace import FeatureNamespace  # registers pl.col(...).cift
from cift.features.registry import REGISTRY, FeatureSpec, Param, describe

__all__ = [
    "REGISTRY", "FeatureNamespace", "FeatureSpec", "Param", "adx", "atr", "bbands", "cci", "describe", "ema",
    "logret", "macd", "mfi", "natr", "obv", "roc", "rsi", "sma", "stddev", "stoch", "trange",
    "stream", "var", "vwap", "willr", "wma", "zscore",
]
