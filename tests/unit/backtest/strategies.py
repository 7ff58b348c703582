"""Strategies the sweep tests ship to other processes (importable by module name)."""

import numba as nb

from cift.strategy import Param, Strategy, Use


@nb.njit
def _sma_cross(row, position, cash, params):
    return 1.0 if row[0] > row[1] else 0.0


SMA_CROSS = Strategy(
    "sma_cross",
    params=(Param("fast", 10, 2, 500), Param("slow", 50, 2, 5000)),
    features={"fast": Use("sma", timeperiod="fast"), "slow": Use("sma", timeperiod="slow")},
    decide=_sma_cross,
)
