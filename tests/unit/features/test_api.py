"""The NumPy API: TA-Lib's call shapes, validation that names the parameter, the registry."""

import inspect
import re

import numpy as np
import polars as pl
import pytest
import talib
from talib import abstract

from cift import features as ta
from cift.errors import CiftError, ParameterError


def test_signatures_mirror_talib_names_order_and_defaults():
    for name, spec in ta.REGISTRY.items():
        if spec.group != "technical":
            continue
        ours = inspect.signature(getattr(ta, name))
        theirs = abstract.Function(name.upper())
        # TA-Lib's function API, as its docstring writes it: "OBV(real, volume)" (obv took
        # close= where TA-Lib's takes real=)
        line = next(x for x in getattr(talib, name.upper()).__doc__.splitlines()
                    if x.startswith(f"{name.upper()}(") and "ndarray" not in x)
        names = re.findall(r"(\w+)(?:=[^,)]+)?", line[len(name) + 1:])
        assert list(ours.parameters) == names, name
        assert list(ours.parameters)[: len(spec.inputs)] == list(spec.inputs)
        defaults = {k: p.default for k, p in ours.parameters.items()
                    if p.default is not inspect.Parameter.empty}
        assert defaults == dict(theirs.parameters), name


def test_inputs_of_any_array_like():
    x = np.linspace(1, 2, 50)
    ref = ta.ema(x, 10)
    for like in (x.tolist(), x.astype(np.float32).astype(np.float64), np.arange(50)):
        out = ta.ema(like, 10)
        assert out.dtype == np.float64 and out.shape == (50,)
    np.testing.assert_array_equal(ta.ema(pl.Series(x), 10), ref)
    np.testing.assert_array_equal(ta.sma(x[::2], 5), ta.sma(np.ascontiguousarray(x[::2]), 5))


def test_series_in_gives_series_out_as_talib_does():
    import pandas as pd
    import talib

    x = np.random.default_rng(4).normal(size=60).cumsum() + 50
    close = pd.Series(x, index=pd.date_range("2024-01-02", periods=60, freq="min"))
    for ours, theirs in ((ta.rsi(close, 14), talib.RSI(close, 14)),
                         (ta.macd(close)[2], talib.MACD(close)[2]),
                         (ta.atr(close + 1, close - 1, close), talib.ATR(close + 1, close - 1,
                                                                         close)),
                         (ta.rsi(pl.Series("c", x)), talib.RSI(pl.Series("c", x)))):
        assert type(ours) is type(theirs)
        if isinstance(ours, pd.Series):
            assert ours.index.equals(close.index)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-9)
    assert isinstance(ta.bbands(close, 20), tuple) and len(ta.bbands(close, 20)) == 3


def test_numpy_numbers_are_parameters_as_in_talib():
    # a grid of np.arange(5, 50, 5) holds np.int64s; TA-Lib takes them
    import talib

    x = np.random.default_rng(5).normal(size=100).cumsum() + 50
    np.testing.assert_allclose(ta.sma(x, np.int64(20)), talib.SMA(x, np.int64(20)), rtol=1e-12)
    np.testing.assert_array_equal(ta.bbands(x, np.int32(20), np.float32(1.5))[0],
                                  ta.bbands(x, 20, 1.5)[0])
    with pytest.raises(ParameterError, match="timeperiod: expected an integer, got np.True_"):
        ta.sma(x, np.bool_(True))


def test_decimal_columns_are_numbers():
    # PostgreSQL's NUMERIC read by Polars is a Decimal column (to NumPy: Python Decimals)
    prices = pl.Series([10.25, 10.5, 10.75, 11.0]).cast(pl.Decimal(10, 2))
    np.testing.assert_array_equal(ta.sma(prices, 2).to_numpy(), [np.nan, 10.375, 10.625,
                                                                   10.875])
    with pytest.raises(ParameterError, match="real: expected numbers, got dtype object"):
        ta.sma(np.array(["a", 1.0], dtype=object), 2)


def test_short_input_is_all_nan_and_empty_is_empty():
    assert np.isnan(ta.rsi(np.arange(5.0), 14)).all()
    assert ta.sma(np.array([]), 3).shape == (0,)
    assert np.isnan(ta.macd(np.arange(30.0))[0]).all()


@pytest.mark.parametrize("call,param", [
    (lambda: ta.sma(np.ones(10), 0), "timeperiod"),
    (lambda: ta.sma(np.ones(10), -3), "timeperiod"),
    (lambda: ta.ema(np.ones(10), 2.5), "timeperiod"),
    (lambda: ta.ema(np.ones(10), "20"), "timeperiod"),
    (lambda: ta.rsi(np.ones(10), True), "timeperiod"),
    (lambda: ta.bbands(np.ones(10), 5, 2.0, 2.0, 9), "matype"),
    (lambda: ta.rsi(["a", "b"], 2), "real"),
    (lambda: ta.rsi(np.ones((3, 3)), 2), "real"),
    (lambda: ta.atr(np.ones(5), np.ones(4), np.ones(5)), "low"),
    (lambda: ta.macd(np.ones(40), 12, 26, 9, 4), "macd"),
    (lambda: ta.sma(np.ones(10), timeperod=3), "sma"),
])
def test_bad_input_names_the_parameter(call, param):
    with pytest.raises(ParameterError, match=f"^{param}:") as e:
        call()
    assert isinstance(e.value, CiftError) and isinstance(e.value, ValueError)


def test_arguments_by_position_and_keyword_as_talib_takes_them():
    rng = np.random.default_rng(5)
    c = 100 + np.cumsum(rng.normal(0, 1, 300))
    h, lo = c + 1, c - 1
    for ours, theirs in [
        (ta.bbands(c, 10, nbdevdn=1.5), talib.BBANDS(c, 10, nbdevdn=1.5)),
        (ta.bbands(real=c, matype=1), talib.BBANDS(real=c, matype=1)),
        (ta.atr(h, lo, close=c, timeperiod=7), talib.ATR(h, lo, close=c, timeperiod=7)),
        (ta.atr(high=h, low=lo, close=c), talib.ATR(high=h, low=lo, close=c)),
        (ta.stoch(h, lo, c, 7, slowd_period=4), talib.STOCH(h, lo, c, 7, slowd_period=4)),
    ]:
        for a, b in zip(np.atleast_2d(ours), np.atleast_2d(theirs), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("args, kwargs, says", [
    ((), {}, "missing a required argument: 'real'"),
    ((np.ones(9),), {"real": np.ones(9)}, "multiple values for argument 'real'"),
    ((np.ones(9), 3), {"timeperiod": 4}, "multiple values for argument 'timeperiod'"),
    ((np.ones(9), 3, 4), {}, "too many positional arguments"),
    ((np.ones(9),), {"period": 3}, "got an unexpected keyword argument 'period'"),
    ((), {"timeperiod": 3}, "missing a required argument: 'real'"),
])
def test_a_call_talib_would_refuse_is_refused_naming_the_feature(args, kwargs, says):
    with pytest.raises(ParameterError, match=f"^sma: {says}"):
        ta.sma(*args, **kwargs)


def test_describe_lists_every_feature():
    table = ta.describe()
    assert set(table["name"]) == set(ta.REGISTRY) >= {"sma", "rsi", "macd", "bbands", "adx"}
    rsi = table.filter(pl.col("name") == "rsi").row(0, named=True)
    assert rsi["lookback"] == abstract.Function("RSI").lookback == 14
    assert rsi["params"] == "timeperiod=14 [2, 100000]"


def test_lookbacks_match_talib_at_defaults():
    for name, spec in ta.REGISTRY.items():
        if spec.group == "technical":
            lookback = spec.lookback(**{p.name: p.default for p in spec.params})
            assert lookback == abstract.Function(name.upper()).lookback, name


@pytest.mark.parametrize("name, which", [(n, k) for n, s in sorted(ta.REGISTRY.items())
                                         if s.group != "microstructure"
                                         for k in range(len(s.inputs))])
def test_nan_policy_holds_for_a_nan_in_any_one_input(name, which):
    """From the first NaN in any input on, every output is NaN: a NaN in the close alone
    too (a max() or min() can drop one), and on long inputs, where a kernel takes its sums
    afresh every so many values (SMA and WMA do, every 1024 at least)."""
    spec = ta.REGISTRY[name]
    rng = np.random.default_rng(8)
    close = 100 + np.cumsum(rng.normal(0, 0.1, 5000))
    data = {"high": close + 0.5, "low": close - 0.5, "volume": rng.integers(1, 99, 5000) * 1.0}
    arrays = [data.get(i, close).copy() for i in spec.inputs]
    arrays[which][300] = np.nan
    for out in np.atleast_2d(getattr(ta, name)(*arrays)):
        assert np.isnan(out[300:]).all(), (name, spec.inputs[which])
        assert np.isfinite(out[200:300]).all(), name


def test_natr_after_a_nan_stays_nan_through_a_zero_close():
    """A zero close makes NATR 0, but not after a NaN: the NaN policy follows the ATR under
    it, as the stream twin does (its last value was the check, which a zero close hid)."""
    rng = np.random.default_rng(9)
    close = 100 + np.cumsum(rng.normal(0, 0.1, 3000))
    high, low = close + 0.5, close - 0.5
    high[1000] = np.nan
    close[-1] = low[-1] = 0.0
    out = ta.natr(high, low, close, 14)
    assert np.isnan(out[1000:]).all()
    assert np.isfinite(out[14:1000]).all()
    twin = ta.stream.natr(14).update_many(high, low, close)
    np.testing.assert_array_equal(np.isnan(twin), np.isnan(out))


def test_an_ma_type_out_of_talibs_range_is_refused_naming_them():
    with pytest.raises(ParameterError, match=r"^matype: expected an integer in \[0, 8\], "
                                             r"got 9 \(TA-Lib's MAType: 0 SMA, 1 EMA"):
        ta.bbands(np.ones(30), 20, 2.0, 2.0, 9)
    with pytest.raises(ParameterError, match=r"^slowd_matype: expected an integer in \[0, 8\]"):
        ta.stoch(np.ones(30), np.ones(30), np.ones(30), 5, 3, 0, 3, -1)
    with pytest.raises(ParameterError, match=r"^slowk_matype: .* 7 MAMA, 8 T3\)"):
        ta.stream.stoch(5, 3, 10)


