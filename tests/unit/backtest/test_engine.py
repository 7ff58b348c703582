"""Strategies: definition checks, the compiled and Python paths, agreement with from_signals."""

import numba as nb
import numpy as np
import polars as pl
import pytest

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
