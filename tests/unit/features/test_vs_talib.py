"""Every technical feature against TA-Lib (the C library, from the PyPI ta-lib wheel)."""

import numpy as np
import pytest
import talib

from cift import features as ta
from cift.features import stream

from market_data import DATASETS

# name -> (cift call, TA-Lib call), both taking the OHLCV dict
CASES = {
    "sma": (lambda d: ta.sma(d["close"], 20), lambda d: talib.SMA(d["close"], 20)),
    "ema": (lambda d: ta.ema(d["close"], 20), lambda d: talib.EMA(d["close"], 20)),
    "ema default": (lambda d: ta.ema(d["close"]), lambda d: talib.EMA(d["close"])),
    "wma": (lambda d: ta.wma(d["close"], 15), lambda d: talib.WMA(d["close"], 15)),
    # a period of 1 is no smoothing: the input (TA-Lib 0.7.1 on; it refused 1 before)
    "sma 1": (lambda d: ta.sma(d["close"], 1), lambda d: talib.SMA(d["close"], 1)),
    "ema 1": (lambda d: ta.ema(d["close"], 1), lambda d: talib.EMA(d["close"], 1)),
    "wma 1": (lambda d: ta.wma(d["close"], 1), lambda d: talib.WMA(d["close"], 1)),
    # TA-Lib's other moving averages, defaults and a period of 1 (the input) included
    **{f"{name} {args}": (lambda d, n=name, a=args: getattr(ta, n)(d["close"], *a),
                          lambda d, n=name, a=args: getattr(talib, n.upper())(d["close"], *a))
       for name, args in [("dema", ()), ("dema", (1,)), ("tema", ()), ("tema", (5,)),
                          ("trima", ()), ("trima", (1,)), ("kama", ()), ("kama", (1,)),
                          ("kama", (10,)), ("t3", ()), ("t3", (1,)), ("t3", (9, 0.3)),
                          ("ma", ()), ("ma", (20, 2)), ("ma", (10, 6)), ("ma", (1, 8)),
                          ("ma", (30, 7)), ("mama", ()), ("mama", (0.3, 0.1))]},
    "var": (lambda d: ta.var(d["close"], 10), lambda d: talib.VAR(d["close"], 10)),
    # windows of up to 8 are summed one by one (kernels._short_windows)
    "var 3": (lambda d: ta.var(d["close"], 3), lambda d: talib.VAR(d["close"], 3)),
    "stddev 8": (lambda d: ta.stddev(d["close"], 8, 2.0),
                 lambda d: talib.STDDEV(d["close"], 8, 2.0)),
    "bbands 5": (lambda d: ta.bbands(d["close"], 5, 2.0, 1.5),
                 lambda d: talib.BBANDS(d["close"], 5, 2.0, 1.5)),
    "stddev": (lambda d: ta.stddev(d["close"], 20, 1.5),
               lambda d: talib.STDDEV(d["close"], 20, 1.5)),
    "bbands": (lambda d: ta.bbands(d["close"], 20, 2.0, 1.5),
               lambda d: talib.BBANDS(d["close"], 20, 2.0, 1.5)),
    "rsi": (lambda d: ta.rsi(d["close"], 14), lambda d: talib.RSI(d["close"], 14)),
    **{f"bbands {name} {p}": (lambda d, p=p, t=t: ta.bbands(d["close"], p, 2.0, 1.5, t),
                              lambda d, p=p, t=t: talib.BBANDS(d["close"], p, 2.0, 1.5, t))
       for name, t, p in [("ema", 1, 10), ("wma", 2, 10), ("dema", 3, 10), ("tema", 4, 7),
                          ("trima", 5, 10), ("trima", 5, 9), ("kama", 6, 10), ("t3", 8, 5),
                          # MAMA's lookback is 32: at 40 the deviation's comes later
                          ("mama", 7, 10), ("mama", 7, 40)]},
    "macd": (lambda d: ta.macd(d["close"], 12, 26, 9), lambda d: talib.MACD(d["close"], 12, 26, 9)),
    "macd swapped": (lambda d: ta.macd(d["close"], 26, 12, 5),
                     lambda d: talib.MACD(d["close"], 26, 12, 5)),
    "trange": (lambda d: ta.trange(d["high"], d["low"], d["close"]),
               lambda d: talib.TRANGE(d["high"], d["low"], d["close"])),
    "atr": (lambda d: ta.atr(d["high"], d["low"], d["close"], 14),
            lambda d: talib.ATR(d["high"], d["low"], d["close"], 14)),
    "natr": (lambda d: ta.natr(d["high"], d["low"], d["close"], 7),
             lambda d: talib.NATR(d["high"], d["low"], d["close"], 7)),
    "roc": (lambda d: ta.roc(d["close"], 10), lambda d: talib.ROC(d["close"], 10)),
    "willr": (lambda d: ta.willr(d["high"], d["low"], d["close"], 14),
              lambda d: talib.WILLR(d["high"], d["low"], d["close"], 14)),
    "stoch": (lambda d: ta.stoch(d["high"], d["low"], d["close"], 14, 3, 0, 5, 0),
              lambda d: talib.STOCH(d["high"], d["low"], d["close"], 14, 3, 0, 5, 0)),
    # TA-Lib's moving-average types in both smoothings: 1 EMA, 2 WMA, 3 DEMA, 4 TEMA,
    # 5 TRIMA, 6 KAMA, 7 MAMA, 8 T3 (a period of 1 is the input itself for any type)
    **{f"stoch {args}": (lambda d, a=args: ta.stoch(d["high"], d["low"], d["close"], *a),
                         lambda d, a=args: talib.STOCH(d["high"], d["low"], d["close"], *a))
       for args in [(14, 3, 1, 5, 2), (14, 5, 6, 4, 5), (5, 3, 8, 3, 0), (5, 4, 3, 3, 4),
                    (9, 1, 6, 3, 1)]},
    "cci": (lambda d: ta.cci(d["high"], d["low"], d["close"], 14),
            lambda d: talib.CCI(d["high"], d["low"], d["close"], 14)),
    # windows of 16 and more run the kernel's vector loops; 5 refreshes its sum most often
    "cci 20": (lambda d: ta.cci(d["high"], d["low"], d["close"], 20),
               lambda d: talib.CCI(d["high"], d["low"], d["close"], 20)),
    "cci 5": (lambda d: ta.cci(d["high"], d["low"], d["close"], 5),
              lambda d: talib.CCI(d["high"], d["low"], d["close"], 5)),
    "obv": (lambda d: ta.obv(d["close"], d["volume"]),
            lambda d: talib.OBV(d["close"], d["volume"])),
    "mfi": (lambda d: ta.mfi(d["high"], d["low"], d["close"], d["volume"], 14),
            lambda d: talib.MFI(d["high"], d["low"], d["close"], d["volume"], 14)),
    "adx": (lambda d: ta.adx(d["high"], d["low"], d["close"], 14),
            lambda d: talib.ADX(d["high"], d["low"], d["close"], 14)),
    "vwap": (lambda d: ta.vwap(d["high"], d["low"], d["close"], d["volume"]),
             lambda d: talib.VWAP(d["high"], d["low"], d["close"], d["volume"])),
}


def assert_matches(ours, theirs, rtol=1e-9):
    """Identical NaN prefix; then within rtol, relative to each value or to the series' scale
    (an oscillator near 0 is compared at the scale of its range)."""
    ours, theirs = np.atleast_2d(np.asarray(ours)), np.atleast_2d(np.asarray(theirs))
    assert ours.shape == theirs.shape
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        scale = np.nanmax(np.abs(b), initial=0.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_talib(name, ohlcv):
    assert_matches_on(*CASES[name], ohlcv)


def assert_matches_on(ours, theirs, ohlcv):
    """TA-Lib's values from the series' start to its first NaN after it; NaN from there on."""
    missing = np.isnan(ohlcv["close"])  # (every column of a data set has the same gaps)
    start = int((~missing).argmax())  # both start after a leading NaN run
    gap = start + (int(missing[start:].argmax()) or len(missing) - start)
    got = np.atleast_2d(np.asarray(ours(ohlcv)))
    # up to the first NaN after the start: TA-Lib's values; from it on: NaN (cift's policy)
    assert_matches(got[:, :gap], theirs({c: v[:gap] for c, v in ohlcv.items()}))
    assert np.isnan(got[:, gap:]).all()


@pytest.mark.parametrize("volume", [
    [0, 0, 3, 4, 5, 6],  # no volume yet: 0
    [1, -2, 3, 4, 5, 6],  # the volume so far not positive: the last value stays
    [-1, 0, 0, 1, 1, 1],
    [1, 2, 3, np.inf, 5, 6],  # an infinite bar adds nothing
    [1, 2, 3, 4, 5, 6],
])
@pytest.mark.parametrize("close0", [9.5, np.inf, -np.inf])
def test_vwap_keeps_talibs_rules_for_volume_and_infinities(volume, close0):
    high = np.array([10.0, 11, 12, 13, 14, 15])
    low, close = high - 1, high - 0.5
    close[0] = close0
    volume = np.array(volume, float)
    theirs = talib.VWAP(high, low, close, volume)
    np.testing.assert_allclose(ta.vwap(high, low, close, volume), theirs, rtol=1e-14)
    np.testing.assert_allclose(stream.vwap().update_many(high, low, close, volume), theirs,
                               rtol=1e-14)


def test_natr_of_one_bar_is_a_percentage_where_talib_forgets_to_divide(ohlcv):
    # TA-Lib 0.8's NATR(1) is its TRANGE, not normalized; cift's stays ATR / close * 100
    h, lo, c = ohlcv["high"], ohlcv["low"], ohlcv["close"]
    ours = ta.natr(h, lo, c, 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # (a zero close gives 0)
        expected = np.where(c == 0, 0.0, ta.trange(h, lo, c) / c * 100)
    expected[np.isnan(ours)] = np.nan
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    assert np.isnan(ours[: int(np.argmax(~np.isnan(c))) + 1]).all()


@pytest.fixture(scope="module")
def long_walk():
    """Three million bars: running sums have room to drift here (a plain one in WMA did,
    4e-7 off TA-Lib, whose own sums stay within 1e-13)."""
    rng = np.random.default_rng(12)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 3_000_000)))
    spread = close * rng.uniform(0, 0.002, close.size)
    return {"close": close, "high": close + spread, "low": close - spread,
            "volume": rng.integers(1, 10_000, close.size).astype(float)}


@pytest.mark.parametrize("name", sorted(set(CASES) - {"bbands trima 9"}))
def test_matches_talib_on_a_long_series(name, long_walk):
    ours, theirs = CASES[name]
    assert_matches(ours(long_walk), theirs(long_walk))


@pytest.mark.parametrize("period", [9, 10])
def test_trima_stays_exact_where_talibs_running_sums_drift(period, long_walk):
    """TRIMA is a weighted mean with weights 1, 2, .., 2, 1: cift's stays within 1e-14 of
    that sum taken afresh at every bar; TA-Lib's running sums of an odd period drift (7e-8
    after 3M bars with TA-Lib 0.8.1), which is why the long-series comparison leaves TRIMA 9
    out."""
    close = long_walk["close"]
    half = (period + 1) // 2
    weights = np.convolve(np.ones(half), np.ones(period + 1 - half))
    exact = np.convolve(close, weights / weights.sum(), "valid")
    ours = ta.bbands(close, period, 2.0, 2.0, 5)[1]
    assert np.isnan(ours[: period - 1]).all()
    np.testing.assert_allclose(ours[period - 1:], exact, rtol=1e-14)


@pytest.mark.parametrize("magnitude", [1e-6, 1.0, 1e3, 1e9, 1e12, 1e15])
@pytest.mark.parametrize("period", [5, 14, 20])
def test_cci_of_a_window_that_turns_constant_is_zero(magnitude, period):
    """A run of equal bars after a walk: once the window lies inside it, CCI is 0, as in
    TA-Lib, at any magnitude (a mean of equal large values need not round back to the value;
    at 1e9 it once gave -66.7), in batch, in bulk streaming and update by update."""
    rng = np.random.default_rng(4)
    close = magnitude * (1 + np.cumsum(rng.normal(0, 1e-3, 400)))
    high, low = close * 1.001, close * 0.999
    close[200:260] = high[200:260] = low[200:260] = close[199]
    inside = slice(200 + period - 1, 260)
    want = talib.CCI(high, low, close, period)
    assert (want[inside] == 0).all()
    batch = ta.cci(high, low, close, period)
    assert_matches(batch, want)
    assert (batch[inside] == 0).all()
    bulk = ta.stream.cci(period).update_many(high, low, close)
    one = ta.stream.cci(period)
    single = np.array([one.update(h, lo, c) for h, lo, c in zip(high, low, close, strict=True)])
    for twin in (bulk, single):
        assert (twin[inside] == 0).all()
        assert_matches(twin, batch)


@pytest.mark.parametrize("level", [0.0, 1.0, 1000.0])
@pytest.mark.parametrize("tick", [1e-15, 1e-12, 1e-9])
def test_kama_takes_a_flat_window_as_talib_does(level, tick):
    """A window whose changes are all tiny is not flat (TA-Lib 0.8 has no absolute threshold:
    changes of 1e-15 count), and one that went flat after large moves is: its running sum's
    rounding is not a change (TA-Lib's zero dead zone), in batch and streaming."""
    moves = np.r_[np.zeros(40), np.tile([tick, 0.0], 20)]
    after_jump = np.r_[np.linspace(0, 117, 40), np.zeros(40), moves]
    for x in (level + moves, level + after_jump):
        theirs = talib.KAMA(x, 5)
        assert_matches(ta.kama(x, 5), theirs)
        assert_matches(stream.kama(5).update_many(x), theirs)


@pytest.mark.parametrize("name", ["random walk", "minute bars", "huge magnitudes",
                                  "satoshi magnitudes", "NaN run"])
def test_stoch_smoothed_by_mama_matches_talib(name):
    """MAMA (type 7) as %K's smoothing. Not on the data sets with flat stretches: there %K is
    constant, and MAMA's Hilbert transforms of a constant are rounding residues whose ratio
    sets its phase, so an ulp of %K (cift's range / 100 is taken as a multiply) moves it by
    tens; MAMA itself matches TA-Lib on those sets (the cases above)."""
    assert_matches_on(lambda d: ta.stoch(d["high"], d["low"], d["close"], 5, 3, 7, 3, 1),
                      lambda d: talib.STOCH(d["high"], d["low"], d["close"], 5, 3, 7, 3, 1),
                      DATASETS[name])
