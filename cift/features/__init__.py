"""Features: Numba kernels behind a TA-Lib-compatible NumPy API, with a registry.

``from cift import features as ta`` then ``ta.rsi(close, 14)``: see :mod:`cift.features.api`
for the conventions and :func:`describe` for the list. ``stream.<feature>(params)`` is each
feature's incremental twin (:mod:`cift.features.stream`). Importing this package also registers
the Polars namespace ``pl.col("close").cift.ema(20)`` (:mod:`cift.features.namespace`).
"""

from cift.features.api import (
    adx, atr, bbands, cci, dema, ema, kama, logret, ma, macd, mama, mfi, natr, obv, roc,
    rolling_vwap, rsi, sma, stddev, stoch, t3, tema, trange, trima, var, vwap, willr, wma, zscore,
)
from cift.features import stream
from cift.features.micro import (
    kyle_lambda, microprice, ofi, ofi_time, quote_imbalance, realized_vol, spread, spread_bps,
    trade_imbalance, volume_imbalance, vpin, vwap_time, weighted_mid,
)
from cift._namespace import register as _register_namespace
from cift.features.namespace import FeatureNamespace
from cift.features.registry import REGISTRY, FeatureSpec, Param, describe

_register_namespace()  # pl.col(...).cift

__all__ = [
    "FeatureNamespace", "FeatureSpec", "Param", "REGISTRY", "adx", "atr", "bbands", "cci",
    "dema", "describe", "ema", "kama", "kyle_lambda", "logret", "ma", "macd", "mama", "mfi",
    "microprice", "natr", "obv", "ofi", "ofi_time", "quote_imbalance", "realized_vol", "roc",
    "rolling_vwap", "rsi", "sma", "spread", "spread_bps", "stddev", "stoch", "stream", "t3",
    "tema", "trade_imbalance", "trange", "trima", "var", "volume_imbalance", "vpin", "vwap",
    "vwap_time", "weighted_mid", "willr", "wma", "zscore",
]
