"""Rolling statistics against exact references, and the numerics the issue demands."""

from fractions import Fraction

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view as windows

from cift import features as ta


def two_pass_var(x, p):
    w = windows(x, p)
    mean = w.mean(axis=1, keepdims=True)
    return np.concatenate([np.full(p - 1, np.nan), ((w - mean) ** 2).mean(axis=1)])


def hard_series(rng, n=20_000):
    """Large offset, tiny noise, spikes that leave the window, constant stretches."""
    x = 1e9 + rng.normal(0, 1e-3, n)
    x[5000] += 1e6
    x[9000:9300] = x[9000]
    x[12000:12050] = 1e9 + 0.1
    return x


def exact_var(w) -> float:
    """The population variance of the float64 values in w, computed exactly in rationals."""
    q = [Fraction(v) for v in w]
    mean = sum(q) / len(q)
    return float(sum((v - mean) ** 2 for v in q) / len(q))


@pytest.mark.parametrize("p", [2, 5, 30, 250])
def test_rolling_variance_is_stable(p):
    rng = np.random.default_rng(p)
    x = hard_series(rng)
    got = ta.var(x, p)
    assert np.isnan(got[: p - 1]).all() and not np.isnan(got[p - 1:]).any()
    # every window near the spike and the constant stretches, and a random sample
    ends = np.r_[4990:5010 + p, 8990:9010 + p, 9290:9310 + p, 11990:12010 + p,
                 12040:12060 + p, rng.integers(p - 1, len(x), 150)]
    for i in ends:
        exact = exact_var(x[i - p + 1: i + 1])
        assert got[i] == pytest.approx(exact, rel=1e-12, abs=0), i


def test_rolling_variance_matches_two_pass_on_ordinary_data():
    x = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 50_000)))
    np.testing.assert_allclose(ta.var(x, 20)[19:], two_pass_var(x, 20)[19:], rtol=1e-12)


@pytest.mark.parametrize("p", [2, 3, 8, 9, 20])  # short windows (<= 8) are summed one by one
def test_constant_windows_are_exactly_zero(p):
    x = np.r_[np.random.default_rng(1).normal(0, 1e4, 500), np.full(300, 0.1 + 0.2)]
    for fn in (lambda v: ta.var(v, p), lambda v: ta.stddev(v, p), lambda v: ta.zscore(v, p)):
        out = fn(x)
        assert (out[500 + p - 1:] == 0.0).all()
    upper, middle, lower = ta.bbands(x, p)
    assert (upper[500 + p - 1:] == middle[500 + p - 1:]).all()
    assert (lower[500 + p - 1:] == middle[500 + p - 1:]).all()


def test_small_exact_case():
    # hand-checked with fractions: windows of 3 over 1, 2, 4, 8
    x = np.array([1.0, 2.0, 4.0, 8.0])
    expected = [None, None]
    for w in ([1, 2, 4], [2, 4, 8]):
        m = Fraction(sum(w), 3)
        expected.append(float(sum((Fraction(v) - m) ** 2 for v in w) / 3))
    got = ta.var(x, 3)
    assert np.isnan(got[:2]).all()
    np.testing.assert_allclose(got[2:], expected[2:], rtol=1e-15)


@pytest.mark.parametrize("p", [1, 2, 5, 8, 9])
def test_short_windows_keep_the_nan_policy(p):
    """From a NaN on, NaN, at every short length too (at 1, VAR's least, a window is one
    value)."""
    x = 100 + np.cumsum(np.random.default_rng(6).normal(0, 1, 300))
    x[150] = np.nan
    outs = [ta.var(x, p)] if p == 1 else [ta.var(x, p), ta.stddev(x, p), ta.zscore(x, p),
                                          *ta.bbands(x, p)]
    for out in outs:
        assert np.isnan(out[150:]).all()
        assert not np.isnan(out[p - 1:150]).any()


@pytest.mark.parametrize("p", [3, 20])
def test_zscore_logret_rolling_vwap_against_numpy(p):
    rng = np.random.default_rng(3)
    price = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, 1000)))
    volume = rng.integers(0, 500, 1000).astype(float)
    w = windows(price, p)
    z = (price[p - 1:] - w.mean(axis=1)) / w.std(axis=1)
    np.testing.assert_allclose(ta.zscore(price, p)[p - 1:], z, rtol=1e-9, atol=1e-9)
    assert np.isnan(ta.zscore(price, p)[:p - 1]).all()
    np.testing.assert_allclose(ta.logret(price)[1:], np.diff(np.log(price)), rtol=1e-9, atol=1e-14)
    vw = windows(price * volume, 10).sum(axis=1) / windows(volume, 10).sum(axis=1)
    np.testing.assert_allclose(ta.rolling_vwap(price, volume, 10)[9:], vw, rtol=1e-9)


def test_rolling_vwap_of_no_volume_is_nan():
    out = ta.rolling_vwap([1.0, 2.0, 3.0], [0.0, 0.0, 1.0], 2)
    assert np.isnan(out[:2]).all() and out[2] == 3.0
