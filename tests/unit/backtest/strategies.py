"""Strategies the tests share and ship to other processes (importable by module name)."""

import numba as nb
import numpy as np

from cift.backtest import orders as o
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


@nb.njit
def quote_both_sides(ev, feat, out, params, state):
    """An order-level market maker: on each quote, bid and offer ``params[0]`` at the best
    prices when its bid is not already there, within +/- ``params[1]`` of position."""
    if ev[o.EV_KIND] != o.KIND_QUOTE or ev[o.EV_BUY_PX] == ev[o.EV_BID]:
        return 0
    n = 0
    s, pos, size, cap = ev[o.EV_SYMBOL], ev[o.EV_POSITION], params[0], params[1]
    if not (np.isnan(ev[o.EV_BUY_PX]) and np.isnan(ev[o.EV_SELL_PX])):
        n = o.cancel_all(out, n, s)
    if pos < cap:
        n = o.limit(out, n, s, size, ev[o.EV_BID])
    if pos > -cap:
        n = o.limit(out, n, s, -size, ev[o.EV_ASK])
    return n


@nb.njit
def _first_above_average(ev, feat, out, params, state):
    s = int(ev[o.EV_SYMBOL])
    if ev[o.EV_KIND] != o.KIND_QUOTE and state[s] == 0.0 and ev[o.EV_PRICE] > feat[0]:
        state[s] = 1.0
        return o.market(out, 0, s, 1.0)
    return 0


#: buys 1 of each symbol on its first trade above the moving average of its own prices
FIRST_ABOVE_AVERAGE = Strategy(
    "first_above_average",
    params=(Param("n", 20, 2, 1000),),
    features={"average": Use("sma", timeperiod="n", inputs={"real": "price"})},
    decide=_first_above_average,
    orders=True,
)
