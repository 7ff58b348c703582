"""NumPy functions with TA-Lib's function API: same names in lower case, argument order,
defaults and outputs (a tuple where TA-Lib returns several arrays).

A TA-Lib user switches by changing an import::

    from cift import features as ta      # was: import talib as ta
    ta.rsi(close, 14); ta.macd(close, 12, 26, 9); ta.bbands(close, 20, 2.0, 2.0)

Inputs are anything ``np.asarray`` takes (NumPy arrays, lists, Polars or pandas Series) of
numbers, all of one length; outputs are float64 arrays of that length with a NaN warm-up of
the feature's lookback (as in TA-Lib, a pandas Series first input gives pandas Series on its
index, and a Polars Series gives Polars Series). Each function is generated from its
:class:`FeatureSpec`, so its parameters are validated against the registry and errors name
the parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from cift.features import kernels as k
from cift.features import ma_kernels, prefault
from cift.features.registry import REGISTRY, FeatureSpec, Param, raise_param

__all__ = [  # the functions are defined below by _define
    "adx", "atr", "bbands", "cci", "dema", "ema", "kama", "logret", "ma", "macd", "mama", "mfi",
    "natr", "obv", "roc", "rsi", "rolling_vwap", "sma", "stddev", "stoch", "t3", "tema",
    "trange", "trima", "var", "vwap", "willr", "wma", "zscore",
]

# Features whose kernels already make every output from the first NaN input on NaN (their
# running sums or recursions carry it, or they check; the NaN-run tests check each); the
# others get the policy applied after their kernel.
_NAN_STICKY = frozenset({"sma", "ema", "wma", "bbands", "ma", "dema", "tema", "trima", "kama",
                         "t3", "mama", "rsi", "macd", "atr", "natr", "stoch",
                         "zscore", "vwap", "rolling_vwap", "obv", "mfi", "willr", "cci", "roc",
                         "var", "stddev",
                         # these check their inputs in their own pass (micro_kernels)
                         "ofi_time", "vwap_time", "kyle_lambda", "vpin", "spread", "spread_bps",
                         "quote_imbalance", "microprice", "weighted_mid", "ofi",
                         "trade_imbalance", "volume_imbalance"})
_BIG = 100_000  # TA-Lib's upper bound for periods
_ANY = 3e37  # TA-Lib's bound for real-valued parameters


def _one_dimensional(value: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any failure to convert is the user's input
        raise_param(name, f"cannot be read as an array ({exc})")
    if arr.ndim != 1:
        raise_param(name, f"expected a 1-D array, got {arr.ndim} dimensions")
    return arr


def numbers_of(arr: np.ndarray) -> np.ndarray:
    """``arr``, its objects as float64 where they are numbers: Decimals (a database's
    NUMERIC read by Polars) or Python numbers; else as it is, for the caller to refuse."""
    if arr.dtype == object:
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    return arr


def as_input(value: object, name: str) -> np.ndarray:
    """A 1-D contiguous float64 array, or a ParameterError naming the input."""
    if (type(value) is np.ndarray and value.dtype == np.float64 and value.ndim == 1
            and value.flags.c_contiguous):
        return value  # (the common case: nothing to convert, a few checks)
    arr = numbers_of(_one_dimensional(value, name))
    if arr.dtype.kind not in "iuf":
        raise_param(name, f"expected numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def as_timestamps(value: object, name: str = "ts") -> np.ndarray:
    """UTC nanoseconds as a 1-D int64 array (from int64 epochs, datetime64 or a Polars/pandas
    datetime column), checked to never decrease; else a ParameterError naming the input."""
    if getattr(getattr(value, "dtype", None), "tz", None) is not None:
        # pandas times with a zone (yfinance's index): NumPy would make Timestamp objects of
        # them; their UTC instants instead
        value = value.to_numpy(dtype="datetime64[ns]")
    arr = _one_dimensional(value, name)
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            raise_param(name, f"missing timestamp at row {int(np.isnat(arr).argmax()) + 1}")
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif arr.dtype.kind not in "iu":
        raise_param(name, f"expected datetimes or int64 epoch nanoseconds, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    back = k.first_decrease(arr)
    if back >= 0:
        raise_param(name, f"timestamps must not decrease; row {back + 1} is earlier than the "
                    "row before it (sort by time first)")
    return arr


def _as_array(value: object, name: str) -> np.ndarray:
    return as_timestamps(value, name) if name == "ts" else as_input(value, name)


def first_complete(arrays: list[np.ndarray]) -> int:
    """The first row where no float input is NaN (TA-Lib's begin index), len if none is: the
    row a feature's series starts at."""
    for a in arrays:  # (the common case, no NaN in the first row, without a pass)
        if len(a) and a.dtype == np.float64 and a[0] != a[0]:
            break
    else:
        return 0
    values = [a for a in arrays if a.dtype == np.float64]
    complete = ~np.logical_or.reduce([np.isnan(a) for a in values])
    return int(complete.argmax()) if complete.any() else len(values[0])


def _like(template: object, out: np.ndarray) -> object:
    """TA-Lib's convention: a pandas Series in gives Series on its index, a Polars Series
    gives a Polars Series; anything else an array."""
    module = type(template).__module__
    if module.startswith("pandas") and type(template).__name__ == "Series":
        return type(template)(out, index=template.index)
    if module.startswith("polars") and type(template).__name__ == "Series":
        return type(template)(out)
    return out


def _define(name: str, kernel: Callable, inputs: tuple[str, ...], params: tuple[Param, ...],
            outputs: tuple[str, ...], lookback: Callable[..., int], summary: str,
            group: str = "technical", prepare: Callable[[dict], None] | None = None,
            work: int = 0) -> None:
    """Register a feature and make its NumPy function. ``work``: scratch arrays of n the
    kernel takes after its outputs (made here: NumPy backs large buffers with huge pages,
    Numba's own allocations are not, and page faults would cost more than the kernel). The
    kernel releases the GIL (nogil=True), so that prefault can map its outputs meanwhile."""
    spec = FeatureSpec(name, inputs, params, outputs, lookback, summary, group,
                       carries_nan=name in _NAN_STICKY, prepare=prepare)
    REGISTRY[name] = spec
    signature = inspect.Signature(
        [inspect.Parameter(i, inspect.Parameter.POSITIONAL_OR_KEYWORD) for i in inputs]
        + [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default)
           for p in params])

    n_in = len(inputs)
    # the parameters a call may still name after k positional arguments
    nameable = [frozenset(p.name for p in params[max(k - n_in, 0):])
                for k in range(n_in + len(params) + 1)]

    def feature(*args, **kwargs):
        if n_in <= len(args) < len(nameable) and kwargs.keys() <= nameable[len(args)]:
            given, values = args[:n_in], spec.bind(args[n_in:], kwargs)  # the common calls
        else:  # inputs by name, or a call to refuse: Signature.bind words the error
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise_param(name, str(exc))
            bound.apply_defaults()
            given, values = [bound.arguments[i] for i in inputs], spec.check(bound.arguments)
        arrays = list(map(_as_array, given, inputs))
        n = len(arrays[0])
        for i, arr in zip(inputs, arrays, strict=True):
            if len(arr) != n:
                raise_param(i, f"length {len(arr)} differs from {inputs[0]}'s {n}")
        into = prefault.empty(n, len(outputs) + work)  # the outputs, then any scratch
        outs = into[:len(outputs)]
        # the series starts at its first bar with every input present, as in TA-Lib: a
        # leading NaN run (a symbol listed later than the rest of a panel) is NaN in the
        # outputs and the rest is computed as if it were not there
        start = first_complete(arrays)
        ins = arrays
        if start:
            ins, into = [a[start:] for a in arrays], [o[start:] for o in into]
        kernel(*ins, *values.values(), *into)  # (values: the parameters in their order)
        if start:
            for out in outs:
                out[:start] = np.nan
        if not spec.carries_nan:  # the NaN policy (kernels.py)
            gap = start + min(k.first_nan(a) for a in ins if a.dtype == np.float64)
            for out in outs:
                out[gap:] = np.nan
        if type(given[0]) is not np.ndarray:
            outs = [_like(given[0], out) for out in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    feature.__name__ = feature.__qualname__ = name
    feature.__signature__ = signature
    returns = ", ".join(outputs)
    feature.__doc__ = (f"{summary}\n\nInputs: {', '.join(inputs)}. Parameters: "
                       + (", ".join(f"{p.name}={p.default}" for p in params) or "none")
                       + f". Returns: {returns} (float64, NaN for the first "
                       f"{lookback(**{p.name: p.default for p in params})} values at the "
                       "defaults).")
    feature.spec = spec
    globals()[name] = feature


def _period(default: int, lo: int = 2, name: str = "timeperiod") -> Param:
    return Param(name, default, lo, _BIG)


def _real(name: str, default: float) -> Param:
    return Param(name, default, -_ANY, _ANY, integer=False)


def _matype(name: str) -> Param:
    return Param(name, 0, 0, 8, hint=" (TA-Lib's MAType: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, "
                 "5 TRIMA, 6 KAMA, 7 MAMA, 8 T3)")


def _macd_order(values: dict) -> None:
    if values["slowperiod"] < values["fastperiod"]:  # TA-Lib swaps them
        values["fastperiod"], values["slowperiod"] = values["slowperiod"], values["fastperiod"]


_define("sma", k.sma_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: timeperiod - 1, "Simple moving average.")
_define("ema", k.ema_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: timeperiod - 1,
        "Exponential moving average, k = 2/(timeperiod+1), seeded by the SMA of the first values.")
_define("wma", k.wma_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: timeperiod - 1, "Linearly weighted moving average.")
_define("ma", k.ma_into, ("real",), (_period(30, 1), _matype("matype")), ("real",),
        lambda timeperiod, matype: ma_kernels.lookback(timeperiod, matype),
        "Moving average of TA-Lib's type matype (0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, "
        "6 KAMA, 7 MAMA, 8 T3).", work=1)
_define("dema", k.dema_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: ma_kernels.lookback(timeperiod, 3),
        "Double exponential moving average: 2 EMA - EMA(EMA).")
_define("tema", k.tema_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: ma_kernels.lookback(timeperiod, 4),
        "Triple exponential moving average: 3 EMA - 3 EMA(EMA) + EMA(EMA(EMA)).")
_define("trima", k.trima_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: ma_kernels.lookback(timeperiod, 5),
        "Triangular moving average: an SMA of an SMA (weights 1, 2, .., 2, 1).", work=1)
_define("kama", k.kama_into, ("real",), (_period(30, 1),), ("real",),
        lambda timeperiod: ma_kernels.lookback(timeperiod, 6),
        "Kaufman's adaptive moving average (efficiency ratio over timeperiod, EMA speeds "
        "2 to 30).")
_define("t3", k.t3_into, ("real",), (_period(5, 1), Param("vfactor", 0.7, 0.0, 1.0, False)),
        ("real",), lambda timeperiod, vfactor: ma_kernels.lookback(timeperiod, 8),
        "Tillson's T3: six chained EMAs weighted by the volume factor.")
_define("mama", k.mama_into, ("real",),
        (Param("fastlimit", ma_kernels.MAMA_FAST, 0.01, 0.99, False),
         Param("slowlimit", ma_kernels.MAMA_SLOW, 0.01, 0.99, False)), ("mama", "fama"),
        lambda fastlimit, slowlimit: ma_kernels.MAMA_LOOKBACK,
        "MESA adaptive moving average (Ehlers) and its following average: alpha set by the "
        "phase's rate of change, between the two limits.")
_define("var", k.var_nbdev_into, ("real",), (_period(5, 1), _real("nbdev", 1.0)), ("real",),
        lambda timeperiod, nbdev: timeperiod - 1,
        "Population variance (stable; nbdev is accepted for TA-Lib's signature and ignored "
        "there too).")
_define("stddev", k.stddev_into, ("real",), (_period(5), _real("nbdev", 1.0)), ("real",),
        lambda timeperiod, nbdev: timeperiod - 1,
        "Population standard deviation times nbdev (stable, exactly 0 on constant windows).")
_define("bbands", k.bbands_into, ("real",),
        (_period(20), _real("nbdevup", 2.0), _real("nbdevdn", 2.0), _matype("matype")),
        ("upperband", "middleband", "lowerband"),
        lambda timeperiod, nbdevup, nbdevdn, matype:
        max(ma_kernels.lookback(timeperiod, matype), timeperiod - 1),
        "Bollinger bands: a moving average (the SMA; matype as TA-Lib's) +/- nbdev * "
        "population standard deviation.", work=1)
_define("rsi", k.rsi_into, ("real",), (_period(14),), ("real",),
        lambda timeperiod: timeperiod, "Relative strength index (Wilder).")
_define("macd", k.macd_into, ("real",),
        (_period(12, name="fastperiod"), _period(26, name="slowperiod"),
         _period(9, 1, "signalperiod")),
        ("macd", "macdsignal", "macdhist"),
        lambda fastperiod, slowperiod, signalperiod: max(fastperiod, slowperiod)
        + signalperiod - 2,
        "MACD line, signal line and histogram.", prepare=_macd_order)
_define("trange", k.trange_into, ("high", "low", "close"), (), ("real",), lambda: 1,
        "True range.")
_define("atr", k.atr_into, ("high", "low", "close"), (_period(14, 1),), ("real",),
        lambda timeperiod: timeperiod, "Average true range (Wilder).")
_define("natr", k.natr_into, ("high", "low", "close"), (_period(14, 1),), ("real",),
        lambda timeperiod: timeperiod,
        "Normalized ATR: ATR / close * 100 (timeperiod 1 too: TA-Lib 0.8 returns the true "
        "range itself there, not as a percentage).")
_define("roc", k.roc_into, ("real",), (_period(10, 1),), ("real",),
        lambda timeperiod: timeperiod, "Rate of change: (x / x[-n] - 1) * 100.")
_define("willr", k.willr_into, ("high", "low", "close"), (_period(14),), ("real",),
        lambda timeperiod: timeperiod - 1, "Williams' %R.")
_define("stoch", k.stoch_into, ("high", "low", "close"),
        (_period(5, 1, "fastk_period"), _period(3, 1, "slowk_period"), _matype("slowk_matype"),
         _period(3, 1, "slowd_period"), _matype("slowd_matype")),
        ("slowk", "slowd"),
        lambda fastk_period, slowk_period, slowk_matype, slowd_period, slowd_matype:
        fastk_period - 1 + ma_kernels.lookback(slowk_period, slowk_matype)
        + ma_kernels.lookback(slowd_period, slowd_matype),
        "Slow stochastic oscillator (%K and %D; moving averages by TA-Lib's matype).", work=1)
_define("cci", k.cci_into, ("high", "low", "close"), (_period(14),), ("real",),
        lambda timeperiod: timeperiod - 1, "Commodity channel index.")
_define("obv", k.obv_into, ("real", "volume"), (), ("real",), lambda: 0,
        "On-balance volume.")
_define("mfi", k.mfi_into, ("high", "low", "close", "volume"), (_period(14),), ("real",),
        lambda timeperiod: timeperiod, "Money flow index.")
_define("adx", k.adx_into, ("high", "low", "close"), (_period(14),), ("real",),
        lambda timeperiod: 2 * timeperiod - 1, "Average directional index (Wilder).")
_define("zscore", k.zscore_into, ("real",), (_period(20),), ("real",),
        lambda timeperiod: timeperiod - 1,
        "Rolling z-score: (x - mean) / population std, 0 on a constant window.", "statistics")
_define("logret", k.logret_into, ("real",), (), ("real",), lambda: 1,
        "Log return log(x / previous x).", "statistics")
_define("vwap", k.vwap_into, ("high", "low", "close", "volume"), (), ("real",), lambda: 0,
        "Volume-weighted average of the typical price (high + low + close) / 3 since the "
        "first bar (TA-Lib's VWAP; rolling_vwap and vwap_time look back a window).")
_define("rolling_vwap", k.rolling_vwap_into, ("price", "volume"), (_period(20, 1),),
        ("real",), lambda timeperiod: timeperiod - 1,
        "Volume-weighted average price of the last timeperiod ticks.", "statistics")
