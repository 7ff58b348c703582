"""Orders as an order-level strategy places them, and the fields of the event it sees.

An order-level ``decide(ev, feat, out, params, state) -> int`` is called after every market
event. ``ev`` describes the event and the account (read it with the ``EV_*`` indices, during
the call: the array is reused); ``feat`` is the feature row of the event's symbol (its last
trade or bar); ``state`` is a float64 scratch array that persists between calls (the
strategy's O(1) memory). It writes its requests into ``out`` with the helpers below and
returns how many it wrote::

    from cift.backtest import orders as o

    @numba.njit
    def decide(ev, feat, out, params, state):
        n = 0
        if ev[o.EV_BUY_PX] != ev[o.EV_BID]:          # our bid is not at the best bid
            n = o.cancel_all(out, n, ev[o.EV_SYMBOL])
            n = o.limit(out, n, ev[o.EV_SYMBOL], 1.0, ev[o.EV_BID])
        return n

The helpers compile into a Numba ``decide`` and stay plain (fast) Python functions when a
Python ``decide`` calls them. Quantities are signed: > 0 buys, < 0 sells.

A plain-Python ``decide`` gets ``ev``, ``feat``, ``params`` and ``state`` as memoryviews of
float64 (``ev`` and ``feat`` are reused rows: read them during the call): indexing one gives
a Python float, whose arithmetic costs a fifth of a NumPy scalar's, and ``state[i] = x``
writes through to the state kept between calls; ``np.asarray(state)`` is a NumPy view when a
function wants an array. ``out`` is the NumPy array the compiled path gets (the helpers write
it).
"""

from __future__ import annotations

from numba.extending import register_jitable

__all__ = ["CANCEL", "CANCEL_ALL", "GTC", "IOC", "LIMIT", "MARKET", "MAX_REQUESTS", "STOP",
           "cancel", "cancel_all", "limit", "market", "stop"]

# request types (the TYPE column of ``out`` and of the orders log)
MARKET, LIMIT, STOP, CANCEL, CANCEL_ALL = 0, 1, 2, 3, 4
# time in force: good till cancelled, or immediate or cancel
GTC, IOC = 0, 1
#: rows of ``out``: the most requests one call of decide can make
MAX_REQUESTS = 16
# the columns of ``out``
R_TYPE, R_SYMBOL, R_QTY, R_PRICE, R_TIF = range(5)
R_FIELDS = 5

# what decide sees: the event, its symbol's book and position, the account
(EV_TS, EV_SYMBOL, EV_KIND, EV_PRICE, EV_SIZE, EV_BID, EV_BID_SIZE, EV_ASK, EV_ASK_SIZE,
 EV_POSITION, EV_CASH, EV_EQUITY, EV_OPEN_BUY, EV_OPEN_SELL, EV_BUY_PX, EV_SELL_PX,
 EV_LAST_ORDER) = range(17)
EV_FIELDS = 17
# EV_KIND values
KIND_QUOTE, KIND_TRADE, KIND_BAR = 0, 1, 2
# order status, and why an order was rejected or cancelled
PENDING, OPEN, FILLED, CANCELLED, REJECTED = range(5)
STATUS_NAMES = ("pending", "open", "filled", "cancelled", "rejected")
(NO_REASON, BY_REQUEST, IOC_UNFILLED, INVALID, POSITION_LIMIT, NOTIONAL_LIMIT, NO_SHORTING,
 NO_CASH) = range(8)
REASON_NAMES = ("", "cancel request", "ioc not filled", "invalid order", "position limit",
                "notional limit", "short selling not allowed", "insufficient cash")
TYPE_NAMES = ("market", "limit", "stop")  # the order types, by code


@register_jitable
def _request(out, n, kind, symbol, qty, price, tif):
    if n >= out.shape[0]:  # more requests than MAX_REQUESTS in one call: a strategy bug
        raise ValueError("decide wrote more than MAX_REQUESTS requests in one event")
    out[n, R_TYPE] = kind
    out[n, R_SYMBOL] = symbol
    out[n, R_QTY] = qty
    out[n, R_PRICE] = price
    out[n, R_TIF] = tif
    return n + 1


@register_jitable
def market(out, n, symbol, qty):
    """Buy (qty > 0) or sell ``|qty|`` at the market; returns the new request count."""
    return _request(out, n, MARKET, symbol, qty, 0.0, IOC)


@register_jitable
def limit(out, n, symbol, qty, price, tif=GTC):
    """A limit order at ``price``, resting (GTC) or immediate-or-cancel (IOC)."""
    return _request(out, n, LIMIT, symbol, qty, price, tif)


@register_jitable
def stop(out, n, symbol, qty, price):
    """A stop order: becomes a market order once a trade reaches ``price``."""
    return _request(out, n, STOP, symbol, qty, price, GTC)


@register_jitable
def cancel(out, n, order_id):
    """Cancel one order by its id (``ev[EV_LAST_ORDER]`` is the id of the newest)."""
    return _request(out, n, CANCEL, -1.0, 0.0, order_id, GTC)


@register_jitable
def cancel_all(out, n, symbol):
    """Cancel every open order of ``symbol``."""
    return _request(out, n, CANCEL_ALL, symbol, 0.0, 0.0, GTC)
