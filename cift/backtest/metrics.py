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


@nb.njit(cache=True)
def _return_stats(returns, periods_per_year):
    """(total, cagr, vol, sharpe, sortino, max_dd, max_dd_duration, calmar) of ``returns``."""
    n = returns.shape[0]
    nan = np.nan
    if n == 0:
        return nan, nan, nan, nan, nan, nan, 0, nan
    mean = 0.0
    m2 = 0.0
    down2 = 0.0
    wealth = 1.0
    peak = 1.0
    max_dd = 0.0
    below = 0
    longest = 0
    for i in range(n):
        r = returns[i]
        # Welford: a stable mean and sum of squared deviations in the same pass
        delta = r - mean
        mean += delta / (i + 1)
        m2 += delta * (r - mean)
        if r < 0.0:
            down2 += r * r
        wealth *= 1.0 + r
        if wealth >= peak:
            peak = wealth
            below = 0
        else:
            below += 1
            longest = max(longest, below)
            max_dd = min(max_dd, wealth / peak - 1.0)
    total = wealth - 1.0
    cagr = wealth ** (periods_per_year / n) - 1.0 if wealth > 0.0 else -1.0
    std = math.sqrt(m2 / (n - 1)) if n > 1 else nan
    vol = std * math.sqrt(periods_per_year)
    sharpe = mean / std * math.sqrt(periods_per_year) if n > 1 and std > 0.0 else nan
    downside = math.sqrt(down2 / n) * math.sqrt(periods_per_year)
    sortino = mean * periods_per_year / downside if n > 1 and downside > 0.0 else nan
    calmar = cagr / -max_dd if max_dd < 0.0 else nan
    return total, cagr, vol, sharpe, sortino, max_dd, longest, calmar


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
    values = _return_stats(r, float(periods_per_year))
    out = dict(zip(METRICS, values, strict=True))
    out["max_drawdown_duration"] = int(out["max_drawdown_duration"])
    return out
