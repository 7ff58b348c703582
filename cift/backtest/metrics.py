"""Performance metrics in one pass over the returns, with empyrical's conventions.

Conventions (the same as empyrical-reloaded and quantstats):
- returns are simple per-period returns; ``periods_per_year`` annualizes (252 for daily bars);
- volatility and Sharpe use the sample standard deviation (ddof=1);
- Sortino divides the annualized mean return by the annualized downside deviation, the root
  mean square of min(r, 0) over all periods;
- CAGR is the ending wealth to the power 1 / years, minus 1, with years = periods / per year;
- drawdowns are measured from the running peak of wealth, the starting wealth counting as a
  peak; the drawdown duration is the longest run of periods below a peak;
- Calmar is CAGR over the absolute maximum drawdown (NaN without a drawdown).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["METRICS", "return_metrics"]

#: Names of the return metrics, in the order :func:`return_metrics` gives them.
METRICS = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown",
           "max_drawdown_duration", "calmar")


# The running state of the return statistics is a tuple of floats, so that a backtest loop
# feeding it bar by bar keeps it in registers (an array could alias the loop's outputs and
# be reloaded every step): (n, shift, s1, s2, down2, wealth, peak, trough, max_dd, below,
# longest).


@nb.njit(cache=True)
def stats_new():
    """A fresh statistics state (wealth, its peak and trough start at 1)."""
    return (0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0)


@nb.njit(cache=True, inline="always")
def stats_push(s, r):
    """The state with one more period's return folded in: O(1), no division but at a new
    low. Sums are of (r - first r), which keeps the variance accurate without Welford's
    division per step."""
    n, shift, s1, s2, down2, wealth, peak, trough, max_dd, below, longest = s
    if n == 0.0:
        shift = r
    d = r - shift
    down = min(r, 0.0)
    wealth = wealth * (1.0 + r)
    if wealth >= peak:
        peak = wealth
        trough = wealth
        below = 0.0
    else:
        below += 1.0
        longest = max(longest, below)
        if wealth < trough:
            trough = wealth
            max_dd = min(max_dd, wealth / peak - 1.0)
    return (n + 1.0, shift, s1 + d, s2 + d * d, down2 + down * down, wealth, peak, trough,
            max_dd, below, longest)


@nb.njit(cache=True, inline="always")
def stats_push_flat(s, k):
    """The state with ``k`` more periods of zero return (flat: wealth unchanged), in O(1):
    exactly ``k`` calls of ``stats_push(s, 0.0)`` when the first return folded in was 0 (the
    sums then add exact zeros)."""
    n, shift, s1, s2, down2, wealth, peak, trough, max_dd, below, longest = s
    if k <= 0:
        return s
    if n == 0.0:
        shift = 0.0
    if wealth >= peak:
        peak = wealth
        trough = wealth
        below = 0.0
    else:
        below += k
        longest = max(longest, below)
    return (n + k, shift, s1 - k * shift, s2 + k * shift * shift, down2, wealth, peak, trough,
            max_dd, below, longest)


@nb.njit(cache=True)
def stats_finish(s, periods_per_year):
    """(total, cagr, vol, sharpe, sortino, max_dd, max_dd_duration, calmar) of the state."""
    n, shift, s1, s2, down2, wealth, _, _, max_dd, _, longest = s
    nan = np.nan
    if n == 0.0:
        return nan, nan, nan, nan, nan, nan, 0.0, nan
    mean = shift + s1 / n
    total = wealth - 1.0
    cagr = wealth ** (periods_per_year / n) - 1.0 if wealth > 0.0 else -1.0
    var = (s2 - s1 * s1 / n) / (n - 1.0) if n > 1.0 else nan
    std = math.sqrt(max(var, 0.0)) if n > 1.0 else nan
    vol = std * math.sqrt(periods_per_year)
    sharpe = mean / std * math.sqrt(periods_per_year) if n > 1.0 and std > 0.0 else nan
    downside = math.sqrt(down2 / n) * math.sqrt(periods_per_year)
    sortino = mean * periods_per_year / downside if n > 1.0 and downside > 0.0 else nan
    calmar = cagr / -max_dd if max_dd < 0.0 else nan
    return total, cagr, vol, sharpe, sortino, max_dd, longest, calmar


@nb.njit(cache=True)
def _return_stats(returns, periods_per_year):
    s = stats_new()
    for i in range(returns.shape[0]):
        s = stats_push(s, returns[i])
    return stats_finish(s, periods_per_year)


def stats_dict(values: tuple) -> dict[str, float]:
    """The tuple of :func:`stats_finish` as a dict named by :data:`METRICS`."""
    out = dict(zip(METRICS, values, strict=True))
    out["max_drawdown_duration"] = int(out["max_drawdown_duration"])
    return out


def return_metrics(returns: np.ndarray, periods_per_year: float = 252.0) -> dict[str, float]:
    """Total return, CAGR, annual volatility, Sharpe, Sortino, max drawdown (and its
    duration in periods) and Calmar of a return series, in one compiled pass.

    Parameters
    ----------
    returns : array of float
        Simple per-period returns (no NaN).
    periods_per_year : float
        Periods in a year: 252 for daily bars, 252 * 390 for 1-minute bars of a US session.
    """
    r = np.ascontiguousarray(returns, dtype=np.float64)
    return stats_dict(_return_stats(r, float(periods_per_year)))
