"""Strategies: definition checks, the compiled and Python paths, agreement with from_signals."""

import numba as nb
import numpy as np
import polars as pl
import pytest

from cift import features
from cift.backtest import from_signals
from cift.backtest.engine import run
from cift.errors import CiftError
from cift.strategy import Param, Strategy, Use


def decide_py(row, position, cash, params):
    return 1.0 if row[0] > row[1] else 0.0


decide_nb = nb.njit(decide_py)

PARAMS = (Param("fast", 10, 2, 500), Param("slow", 50, 2, 5000))
FEATURES = {"fast": Use("sma", timeperiod="fast"), "slow": Use("sma", timeperiod="slow")}


def sma_cross(decide):
    return Strategy("sma_cross", PARAMS, FEATURES, decide)


@pytest.fixture(scope="module")
def bars():
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000)))
    return pl.DataFrame({"open": close * np.exp(rng.normal(0, 0.002, 3000)), "close": close})


def crossover(close, fast, slow):
    from cift import features

    diff = features.sma(close, fast) - features.sma(close, slow)
    above, below = diff > 0, diff < 0
    return (above & ~np.concatenate([[False], above[:-1]]),
            below & ~np.concatenate([[False], below[:-1]]))


@pytest.mark.parametrize("fast, slow", [(10, 50), (5, 20)])
def test_compiled_strategy_equals_the_signal_backtest(bars, fast, slow):
    close, open_ = bars["close"].to_numpy(), bars["open"].to_numpy()
    e, x = crossover(close, fast, slow)
    want = from_signals(close, e, x, open=open_, fees_bps=2, slippage_bps=1)
    got = run(sma_cross(decide_nb), bars, fees_bps=2, slippage_bps=1, fast=fast, slow=slow)
    np.testing.assert_allclose(got.equity, want.equity, rtol=1e-12)
    assert got.trades.equals(want.trades)
    for name, value in want.metrics.items():
        assert got.metrics[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name


def test_python_path_gives_the_compiled_result(bars):
    a = run(sma_cross(decide_nb), bars, fees_bps=1)
    b = run(sma_cross(decide_py), bars, fees_bps=1)
    np.testing.assert_array_equal(a.equity, b.equity)
    assert a.trades.equals(b.trades)
    for name, value in a.metrics.items():  # the same numbers, not just close ones
        assert b.metrics[name] == value or (np.isnan(value) and np.isnan(b.metrics[name]))


def test_entries_refused_for_want_of_cash_and_warm_up_nans_like_from_signals():
    # a fixed fee that leaves too little cash to enter again after losses: the target stays
    # long while nothing is bought; the warm-up's NaN targets are flat
    rng = np.random.default_rng(8)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 3000)))
    open_ = close * np.exp(rng.normal(0, 0.005, 3000))
    bars = pl.DataFrame({"open": open_, "close": close})

    @nb.njit
    def spread(row, position, cash, params):
        return row[0] - row[1]  # NaN in the warm-up

    strategy = Strategy("spread", PARAMS, FEATURES, spread)
    above = features.sma(close, 5) > features.sma(close, 20)
    for cash, fixed in ((1_000.0, 0.0), (100.0, 8.0)):
        want = from_signals(close, above, ~above, open=open_, fees_bps=10, fixed_fee=fixed,
                            init_cash=cash)
        for decide in (strategy, Strategy("spread", PARAMS, FEATURES, spread.py_func)):
            got = run(decide, bars, fees_bps=10, fixed_fee=fixed, init_cash=cash, fast=5,
                      slow=20)
            np.testing.assert_allclose(got.equity, want.equity, rtol=1e-12)
            assert got.trades.height == want.trades.height
            assert got.metrics["exposure"] == want.metrics["exposure"]
            assert got.metrics["turnover"] == pytest.approx(want.metrics["turnover"],
                                                            rel=1e-12)
    assert 0 < want.trades.height < 20  # (the second case: a few trades, then none)


def test_decide_sees_position_and_cash(bars):
    # flat after every entry: enter only when holding nothing, so it alternates bar by bar
    @nb.njit
    def flip(row, position, cash, params):
        return 0.0 if position > 0 else 1.0

    res = run(Strategy("flip", (), {"c": Use("sma", timeperiod=2)}, flip), bars.head(20))
    assert res.trades["entry_bar"].to_list()[:3] == [1, 3, 5]
    assert res.trades["exit_bar"].to_list()[:2] == [2, 4]


def test_definition_errors():
    with pytest.raises(CiftError, match="not a cift feature"):
        Strategy("x", PARAMS, {"a": Use("smaa", timeperiod="fast")}, decide_nb)
    with pytest.raises(CiftError, match="not a strategy parameter"):
        Strategy("x", PARAMS, {"a": Use("sma", timeperiod="medium")}, decide_nb)
    with pytest.raises(CiftError, match="no parameter"):
        Strategy("x", PARAMS, {"a": Use("sma", window=3)}, decide_nb)
    with pytest.raises(CiftError, match="outputs"):
        Strategy("x", PARAMS, {"a": Use("sma", output=2)}, decide_nb)


def test_run_errors(bars):
    s = sma_cross(decide_nb)
    with pytest.raises(CiftError, match="fast"):
        run(s, bars, fast=1)
    with pytest.raises(CiftError, match="unknown parameter"):
        run(s, bars, medium=3)
    with pytest.raises(CiftError, match="high"):
        run(Strategy("a", (), {"atr": Use("atr")}, decide_nb), bars)
    with pytest.raises(CiftError, match="bar 2 repeats"):
        run(s, bars.head(5).with_columns(ts=pl.Series([1, 2, 2, 3, 4])))
    with pytest.raises(CiftError, match="strategy"):
        run(decide_nb, bars)
    with pytest.raises(CiftError, match="no rows"):  # (was an IndexError)
        run(s, bars.head(0))
    with pytest.raises(CiftError, match=r"pandas.DataFrame \(polars.from_pandas\(df\)"):
        run(s, bars.to_pandas())
    with pytest.raises(CiftError, match="at least a close column"):
        run(s, bars.drop("close"))
    two = pl.concat([bars.head(5), bars.head(5)]).with_columns(
        symbol=pl.Series(["A"] * 5 + ["B"] * 5))  # (was run as one series, silently)
    with pytest.raises(CiftError, match="2 symbols in one frame; run one symbol's bars"):
        run(s, two)
    assert run(s, two.head(5)).final_value > 0  # one symbol, with its column, is fine


@nb.njit
def _revert(row, position, cash, params):
    """Short while the fast average is above the slow one, long while below, else flat."""
    return -1.0 if row[0] > row[1] else (1.0 if row[0] < row[1] else 0.0)


def test_allow_short_runs_targets_long_and_short_like_from_signals():
    rng = np.random.default_rng(9)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000)))
    open_ = close * np.exp(rng.normal(0, 0.002, 3000))
    bars = pl.DataFrame({"open": open_, "close": close})
    params = (Param("n", 20, 2, 500),)
    feats = {"fast": Use("sma", timeperiod=5), "slow": Use("sma", timeperiod="n")}
    compiled = Strategy("revert", params, feats, _revert)
    python = Strategy("revert", params, feats, _revert.py_func)
    res = run(compiled, bars, fees_bps=2.0, fixed_fee=0.5, allow_short=True, n=30)
    slow = run(python, bars, fees_bps=2.0, fixed_fee=0.5, allow_short=True, n=30)
    np.testing.assert_array_equal(res.equity, slow.equity)
    # the same targets as signal levels: long while below, short while above
    fast, slow = features.sma(close, 5), features.sma(close, 30)
    above, below = fast > slow, fast < slow
    ref = from_signals(close, below, ~below, open=open_, short_entries=above,
                       short_exits=~above, fees_bps=2.0, fixed_fee=0.5)
    np.testing.assert_allclose(res.equity, ref.equity, rtol=1e-12)
    assert (res.trades["size"] < 0).sum() > 10
    # without allow_short the same strategy is long/flat: never a negative position
    assert (run(compiled, bars, n=30).trades["size"] > 0).all()
    from cift.backtest import sweep

    grid = sweep(compiled, bars, fees_bps=2.0, fixed_fee=0.5, allow_short=True, n=[30, 60])
    assert grid["total_return"][0] == pytest.approx(res.metrics["total_return"], rel=1e-12)
    assert grid["total_return"][1] != grid["total_return"][0]
