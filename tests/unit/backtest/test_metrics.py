"""Return metrics against empyrical-reloaded (an independent implementation) to 1e-12."""

import empyrical as ep
import numpy as np
import pytest

from cift.backtest.metrics import return_metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ppy", [252, 12, 252 * 390])
def test_metrics_match_empyrical(seed, ppy):
    r = np.random.default_rng(seed).normal(0.0004, 0.012, 2000)
    got = return_metrics(r, ppy)
    want = {
        "total_return": ep.cum_returns_final(r),
        "cagr": ep.annual_return(r, annualization=ppy),
        "annual_volatility": ep.annual_volatility(r, annualization=ppy),
        "sharpe": ep.sharpe_ratio(r, annualization=ppy),
        "sortino": ep.sortino_ratio(r, annualization=ppy),
        "max_drawdown": ep.max_drawdown(r),
        "calmar": ep.calmar_ratio(r, annualization=ppy),
    }
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


def test_drawdown_hand_computed():
    # wealth 1 -> 1.1 -> 0.88 -> 0.968 -> 1.2584: peak 1.1, trough 0.88, two periods below
    got = return_metrics(np.array([0.1, -0.2, 0.1, 0.3]), 252)
    assert got["max_drawdown"] == pytest.approx(0.88 / 1.1 - 1, rel=1e-15)
    assert got["max_drawdown_duration"] == 2
    assert got["total_return"] == pytest.approx(1.1 * 0.8 * 1.1 * 1.3 - 1, rel=1e-15)


def test_start_wealth_counts_as_a_peak():
    got = return_metrics(np.array([-0.1, 0.05]), 252)
    assert got["max_drawdown"] == pytest.approx(-0.1)
    assert got["max_drawdown_duration"] == 2


def test_degenerate_series():
    flat = return_metrics(np.zeros(10), 252)
    assert flat["total_return"] == 0 and np.isnan(flat["sharpe"]) and np.isnan(flat["calmar"])
    assert np.isnan(return_metrics(np.array([0.01]), 252)["sharpe"])
    assert np.isnan(return_metrics(np.array([]), 252)["total_return"])
