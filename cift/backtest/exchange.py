"""The simulated exchange of the event engine: Numba kernels over one merged event stream.

Events are trades (or bars) and L1 quotes of any number of symbols, read from two sources in
time order (a trade and a quote at the same nanosecond: the trade first). Per event:

1. orders whose arrival time (submission + latency) is before the event reach the market:
   a market order fills at the prevailing quote (buy at the ask, sell at the bid), or at the
   next trade / bar open with ``slippage_bps`` when the symbol has no quote; a marketable
   limit fills at the quote; an IOC limit that is not marketable is cancelled; the rest rest;
2. the event is applied: a quote updates the book, a trade or bar matches the resting orders
   of its symbol (limits fill at their price when the market trades through them, or, with
   the queue model, once the volume traded at their price exceeds the queue ahead; stops
   trigger on trades and fill like market orders);
3. the equity (cash + positions at the mid when quoted, else at the last trade or close) is
   sampled once per time bucket;
4. the strategy is called and its requests are checked and logged; they arrive ``latency``
   ns later, and never before the next event, so nothing fills on the bar that decided it.

Simplifications, by design: fills against a quote are not limited by its displayed size
(the queue model limits passive fills only), and fills reach the strategy at once (no
response latency).

All state lives in arrays (the tuple ``st``), so the same kernels serve the compiled loop and
the plain-Python path, and a run can stop when a log is full and resume after growing it.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from cift.backtest.orders import (
    BY_REQUEST,
    CANCEL,
    CANCEL_ALL,
    CANCELLED,
    EV_ASK,
    EV_ASK_SIZE,
    EV_BID,
    EV_BID_SIZE,
    EV_BUY_PX,
    EV_CASH,
    EV_EQUITY,
    EV_KIND,
    EV_LAST_ORDER,
    EV_OPEN_BUY,
    EV_OPEN_SELL,
    EV_POSITION,
    EV_PRICE,
    EV_SELL_PX,
    EV_SIZE,
    EV_SYMBOL,
    EV_TS,
    FILLED,
    GTC,
    INVALID,
    IOC,
    IOC_UNFILLED,
    KIND_BAR,
    KIND_QUOTE,
    KIND_TRADE,
    LIMIT,
    MARKET,
    NO_CASH,
    NO_REASON,
    NO_SHORTING,
    NOTIONAL_LIMIT,
    OPEN,
    PENDING,
    POSITION_LIMIT,
    R_PRICE,
    R_QTY,
    R_SYMBOL,
    R_TIF,
    R_TYPE,
    REJECTED,
    STOP,
    TYPE_NAMES,
)

# account (float64): cash, sum of position x mark, fees paid, notional traded
A_CASH, A_VALUE, A_FEES, A_TRADED = range(4)
A_FIELDS = 4
# counters (int64): orders logged, fills logged, orders arrived, active orders, equity
# samples, current time bucket, whether a bucket started, next trade row, next quote row,
# the time of the event being processed, the start of the next bucket, the cancel queue's
# head and tail (counts; the slot is the count modulo its length), cancels of no order
(I_ORDERS, I_FILLS, I_ARRIVED, I_ACTIVE, I_SAMPLES, I_BUCKET, I_STARTED, I_TRADE, I_QUOTE,
 I_TS, I_NEXT, I_KHEAD, I_KTAIL, I_BAD_CANCELS) = range(14)
I_FIELDS = 14
# per symbol (float64)
(S_POS, S_MARK, S_BID, S_BID_SIZE, S_ASK, S_ASK_SIZE, S_QUOTED, S_AVG, S_REALIZED, S_ROW,
 S_OPEN_BUY, S_OPEN_SELL, S_FEES, S_TRADED, S_PRICE, S_SIZE) = range(16)
S_FIELDS = 16
# The orders log is three arrays of one row per order: numbers (float64), codes (int8) and
# times (int64 ns). A busy strategy logs millions of orders into memory it touches for the
# first time (the kernel zeroes every page), which cost a fifth of a market maker's run when
# every field was a float64: small codes take a byte, and the arrival time is not stored.
O_SYMBOL, O_QTY, O_PRICE, O_FILLED, O_AVG, O_QUEUE, O_FEES = range(7)
O_FIELDS = 7
# codes: side (+1 or -1), type (BAD_TYPE: none known), time in force, status, reason, and
# whether a cancel request for the order is in flight
OC_SIDE, OC_TYPE, OC_TIF, OC_STATUS, OC_REASON, OC_CANCELLING = range(6)
OC_FIELDS = 6
BAD_TYPE = len(TYPE_NAMES)  # the orders frame labels it "invalid", after the known types
T_SUBMIT, T_DONE = range(2)  # times; an order arrives at T_SUBMIT + the latency
# fills log (float64), plus its times (int64 ns)
F_ORDER, F_SYMBOL, F_SIDE, F_QTY, F_PRICE, F_FEE, F_POSITION, F_MAKER = range(8)
F_FIELDS = 8
# configuration (float64)
C_FEE, C_FIXED, C_SLIP, C_MAX_POS, C_MAX_NOTIONAL, C_SHORT, C_QUEUE, C_BARS = range(8)
C_FIELDS = 8
# cancel requests in flight (float64; a ring whose length is a power of two) and their
# arrival times (int64 ns): the kind (CANCEL or CANCEL_ALL), the order id or symbol, how
# many orders were sent before it
K_KIND, K_TARGET, K_BEFORE = range(3)
K_FIELDS = 3
L_LATENCY, L_EVERY = range(2)  # configuration (int64 ns)
# the largest finite float: 0 < x <= _MAX is one compare more than 0 < x, where LLVM made
# each 0 < x < inf a ~17-instruction bit test of the exponent (36 of ~990 per order)
_MAX = np.finfo(np.float64).max
# The resting orders are kept per symbol, in arrival order: row s of ``active`` (st[7]) holds
# the ids of symbol s's first ``n_active[s]`` (st[12]) resting orders, so an event scans only
# its own symbol's orders; ist[I_ACTIVE] counts them all. The orders log's codes are st[13].


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _side(oc, oid):
    """Order ``oid``'s side as a float, +1.0 or -1.0, for the arithmetic of fills and prices."""
    return 1.0 if oc[oid, OC_SIDE] > 0 else -1.0


@nb.njit(cache=True, _nrt=False)
def _close(st, oid, status, reason, ts):
    """Mark an order done; what it had not filled stops counting as open."""
    sy, ol, ot, oc = st[2], st[3], st[4], st[13]
    s = int(ol[oid, O_SYMBOL])
    left = ol[oid, O_QTY] - ol[oid, O_FILLED]
    if oc[oid, OC_SIDE] > 0:
        sy[s, S_OPEN_BUY] -= left
    else:
        sy[s, S_OPEN_SELL] -= left
    oc[oid, OC_STATUS] = status
    oc[oid, OC_REASON] = reason
    ot[oid, T_DONE] = ts


@nb.njit(cache=True, _nrt=False)
def _fill(st, cfg, oid, qty, px, maker, ts):
    """Fill up to ``qty`` of order ``oid`` at ``px``; True when the order is done.

    A buy is cut to what the cash pays for and, unless shorting is allowed, a sell to the
    position held; the cut part is cancelled with the reason.
    """
    acct, ist, sy, ol, ot, fl, ft, oc = st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[13]
    s = int(ol[oid, O_SYMBOL])
    side = _side(oc, oid)
    fee_rate = cfg[C_FEE]
    fixed = cfg[C_FIXED] if ol[oid, O_FILLED] == 0.0 else 0.0
    left = ol[oid, O_QTY] - ol[oid, O_FILLED]
    whole = qty >= left
    if whole:
        qty = left
    reason = NO_REASON
    pos = sy[s, S_POS]
    if side > 0:
        afford = (acct[A_CASH] - fixed) / (px * (1.0 + fee_rate))
        if qty > afford:
            qty, reason, whole = max(afford, 0.0), NO_CASH, False
    elif cfg[C_SHORT] == 0.0 and qty > pos:
        qty, reason, whole = max(pos, 0.0), NO_SHORTING, False
    if qty > 0.0:
        notional = qty * px
        fee = notional * fee_rate + fixed
        acct[A_CASH] -= side * notional + fee
        acct[A_FEES] += fee
        acct[A_TRADED] += notional
        acct[A_VALUE] += side * qty * sy[s, S_MARK]
        # average cost and realized P&L (before fees) of the symbol's position
        held = abs(pos)
        if pos == 0.0 or (pos > 0.0) == (side > 0):
            sy[s, S_AVG] = (sy[s, S_AVG] * held + px * qty) / (held + qty)
        else:
            closed = min(qty, held)
            sy[s, S_REALIZED] += closed * (px - sy[s, S_AVG]) * (1.0 if pos > 0.0 else -1.0)
            if qty > held:
                sy[s, S_AVG] = px
            elif qty == held:
                sy[s, S_AVG] = 0.0
        sy[s, S_POS] = pos + side * qty
        sy[s, S_FEES] += fee
        sy[s, S_TRADED] += notional
        if side > 0:
            sy[s, S_OPEN_BUY] -= qty
        else:
            sy[s, S_OPEN_SELL] -= qty
        done_before = ol[oid, O_FILLED]
        ol[oid, O_AVG] = (ol[oid, O_AVG] * done_before + px * qty) / (done_before + qty) \
            if done_before > 0.0 else px
        ol[oid, O_FILLED] = ol[oid, O_QTY] if whole else done_before + qty
        ol[oid, O_FEES] += fee
        f = ist[I_FILLS]
        ist[I_FILLS] = f + 1
        fl[f, F_ORDER], fl[f, F_SYMBOL], fl[f, F_SIDE] = oid, s, side
        fl[f, F_QTY], fl[f, F_PRICE], fl[f, F_FEE] = qty, px, fee
        fl[f, F_POSITION], fl[f, F_MAKER] = sy[s, S_POS], maker
        ft[f] = ts
    if whole:
        oc[oid, OC_STATUS] = FILLED
        ot[oid, T_DONE] = ts
        return True
    if reason != NO_REASON:
        _close(st, oid, CANCELLED, reason, ts)
        return True
    return False


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _mark(st, s, price):
    """Value symbol ``s`` at ``price`` from now on."""
    acct, sy = st[0], st[2]
    acct[A_VALUE] += sy[s, S_POS] * (price - sy[s, S_MARK])
    sy[s, S_MARK] = price


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _arrive(st, cfg, oid, ts):
    """Order ``oid`` reaches the market at ``ts``: fill against the quote, or rest."""
    ist, sy, ol, active, n_active, oc = st[1], st[2], st[3], st[7], st[12], st[13]
    if oc[oid, OC_STATUS] != PENDING:  # rejected when submitted
        return
    typ = oc[oid, OC_TYPE]
    oc[oid, OC_STATUS] = OPEN
    s = int(ol[oid, O_SYMBOL])
    side, price = _side(oc, oid), ol[oid, O_PRICE]
    if sy[s, S_QUOTED] != 0.0:
        bid, ask = sy[s, S_BID], sy[s, S_ASK]
        touch = ask if side > 0 else bid
        if typ == MARKET or (typ == LIMIT and side * (price - touch) >= 0.0):
            if _fill(st, cfg, oid, np.inf, touch, 0.0, ts):
                return
        elif typ == LIMIT and oc[oid, OC_TIF] == IOC:
            _close(st, oid, CANCELLED, IOC_UNFILLED, ts)
            return
        if typ == LIMIT:  # the queue ahead: the displayed size when joining the best price
            best, size = (bid, sy[s, S_BID_SIZE]) if side > 0 else (ask, sy[s, S_ASK_SIZE])
            gap = side * (price - best)
            ol[oid, O_QUEUE] = 0.0 if gap > 0.0 else (size if gap == 0.0 else np.inf)
    active[s, n_active[s]] = oid
    n_active[s] += 1
    ist[I_ACTIVE] += 1


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _cancel_arrives(st, slot, ts):
    """The cancel request in ``slot`` reaches the market: its order, or every order of its
    symbol sent before it, is cancelled if still resting."""
    ol, active, n_active, kq, oc = st[3], st[7], st[12], st[10], st[13]
    target, before = kq[slot, K_TARGET], kq[slot, K_BEFORE]
    one = kq[slot, K_KIND] == CANCEL
    if one:
        if oc[int(target), OC_STATUS] != OPEN:  # done, or never rested: nothing to cancel
            return
        s = int(ol[int(target), O_SYMBOL])
    else:
        s = int(target)
    book = active[s]
    w = 0
    for k in range(n_active[s]):
        a = book[k]
        if (a == target) if one else a < before:
            _close(st, a, CANCELLED, BY_REQUEST, ts)
        else:
            book[w] = a
            w += 1
    _resting(st, s, w)


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _on_trade(st, cfg, oid, bar, o, h, lo, c, size, ts):
    """Match active order ``oid`` against a trade (``bar`` False: o = h = lo = c) or a bar;
    True when the order is done."""
    sy, ol, oc = st[2], st[3], st[13]
    typ = oc[oid, OC_TYPE]
    side, price = _side(oc, oid), ol[oid, O_PRICE]
    first = o if bar else c
    if typ == MARKET:  # arrived with no quote: the first price after it
        return _fill(st, cfg, oid, np.inf, first * (1.0 + side * cfg[C_SLIP]), 0.0, ts)
    if typ == LIMIT:
        if oc[oid, OC_TIF] == IOC:  # arrived with no quote: fills at the first price or never
            if side * (price - first) >= 0.0:
                return _fill(st, cfg, oid, np.inf, first, 0.0, ts)
            _close(st, oid, CANCELLED, IOC_UNFILLED, ts)
            return True
        if bar:
            if (lo < price) if side > 0 else (h > price):  # traded through: at the limit,
                px = min(o, price) if side > 0 else max(o, price)  # or the gap's open
                return _fill(st, cfg, oid, np.inf, px, 1.0, ts)
            return False
        if side * (price - c) > 0.0:
            return _fill(st, cfg, oid, np.inf, price, 1.0, ts)
        if c == price and cfg[C_QUEUE] != 0.0:  # volume at our price eats the queue ahead
            ahead = ol[oid, O_QUEUE] - size
            if ahead < 0.0:
                ol[oid, O_QUEUE] = 0.0
                return _fill(st, cfg, oid, -ahead, price, 1.0, ts)
            ol[oid, O_QUEUE] = ahead
        return False
    if typ == STOP:
        if bar:
            if not ((h >= price) if side > 0 else (lo <= price)):
                return False
            px = (max(o, price) if side > 0 else min(o, price)) * (1.0 + side * cfg[C_SLIP])
        else:
            if side * (c - price) < 0.0:
                return False
            s = int(ol[oid, O_SYMBOL])
            if sy[s, S_QUOTED] != 0.0:
                px = sy[s, S_ASK] if side > 0 else sy[s, S_BID]
            else:
                px = c * (1.0 + side * cfg[C_SLIP])
        return _fill(st, cfg, oid, np.inf, px, 0.0, ts)
    return False


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _on_quote(st, cfg, oid, ts, bid, bid_size, ask, ask_size, queue):
    """Match active order ``oid`` against its symbol's new quote (passed in: the same for
    every order of the symbol, loaded once, not per order); True when done."""
    ol, oc = st[3], st[13]
    typ = oc[oid, OC_TYPE]
    if typ == STOP:
        return False
    side, price = _side(oc, oid), ol[oid, O_PRICE]
    touch = ask if side > 0 else bid
    if typ == MARKET:  # arrived before the symbol's first quote
        return _fill(st, cfg, oid, np.inf, touch, 0.0, ts)
    if oc[oid, OC_TIF] == IOC:  # likewise
        if side * (price - touch) >= 0.0:
            return _fill(st, cfg, oid, np.inf, touch, 0.0, ts)
        _close(st, oid, CANCELLED, IOC_UNFILLED, ts)
        return True
    if side * (price - touch) >= 0.0:  # the other side crossed our resting price
        return _fill(st, cfg, oid, np.inf, price, 1.0, ts)
    if queue:
        best, size = (bid, bid_size) if side > 0 else (ask, ask_size)
        gap = side * (price - best)
        if gap > 0.0:  # our price is now better than the best: nobody ahead
            ol[oid, O_QUEUE] = 0.0
        elif gap == 0.0:  # whoever left the level was ahead of us
            ol[oid, O_QUEUE] = min(ol[oid, O_QUEUE], size)
    return False


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _sample(st, every):
    """Record the equity of the bucket that just ended."""
    acct, ist, eq_ts, eq = st[0], st[1], st[8], st[9]
    k = ist[I_SAMPLES]
    eq_ts[k] = ist[I_BUCKET] * every if every > 0 else ist[I_BUCKET]
    eq[k] = acct[A_CASH] + acct[A_VALUE]
    ist[I_SAMPLES] = k + 1


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _trade_is_next(mkt, ti, qi):
    """Whether trade row ``ti`` comes before quote row ``qi`` (a tie: the trade first)."""
    t_ts, q_ts = mkt[0], mkt[7]
    return ti < t_ts.shape[0] and (qi >= q_ts.shape[0] or t_ts[ti] <= q_ts[qi])


@nb.njit(cache=True, _nrt=False, forceinline=True)
def next_symbol(mkt, st):
    """The symbol of the event :func:`on_event` processes next, or -1 at the end."""
    ti, qi = st[1][I_TRADE], st[1][I_QUOTE]
    if _trade_is_next(mkt, ti, qi):
        return mkt[1][ti]
    return mkt[8][qi] if qi < mkt[7].shape[0] else -1


@nb.njit(cache=True, _nrt=False, forceinline=True)
def on_event(mkt, st, cfg, lcfg, ev):
    """Process the next event and describe it in ``ev``; its symbol, or -1 at the end."""
    t_ts, t_sym, t_open, t_high, t_low, t_close, t_size = mkt[:7]
    q_ts, q_sym, q_bid, q_bsz, q_ask, q_asz = mkt[7:]
    acct, ist, sy, ot = st[0], st[1], st[2], st[4]
    ti, qi = ist[I_TRADE], ist[I_QUOTE]
    is_trade = _trade_is_next(mkt, ti, qi)
    if not is_trade and qi >= q_ts.shape[0]:
        return -1
    ts = t_ts[ti] if is_trade else q_ts[qi]
    ist[I_TS] = ts
    if ts >= ist[I_NEXT]:  # a new time bucket (divide only then: a division is slow)
        every = lcfg[L_EVERY]
        if ist[I_STARTED]:
            _sample(st, every)
        bucket = ts // every if every > 0 else ts
        ist[I_STARTED], ist[I_BUCKET] = 1, bucket
        ist[I_NEXT] = (bucket + 1) * every if every > 0 else ts + 1
    kq, kt = st[10], st[11]
    while True:  # orders and cancels that reach the market before this event, in send order
        order_due = ist[I_ARRIVED] < ist[I_ORDERS] and \
            ot[ist[I_ARRIVED], T_SUBMIT] + lcfg[L_LATENCY] < ts
        head = ist[I_KHEAD]
        slot = head & (kt.shape[0] - 1)  # a power of two: a mask, not a division per event
        if head < ist[I_KTAIL] and kt[slot] < ts and (
                not order_due or kq[slot, K_BEFORE] <= ist[I_ARRIVED]):
            _cancel_arrives(st, slot, ts)
            ist[I_KHEAD] = head + 1
        elif order_due:
            _arrive(st, cfg, ist[I_ARRIVED], ts)
            ist[I_ARRIVED] += 1
        else:
            break
    if is_trade:
        s = t_sym[ti]
        c, size = t_close[ti], t_size[ti]
        bar = cfg[C_BARS] != 0.0
        sy[s, S_PRICE], sy[s, S_SIZE], sy[s, S_ROW] = c, size, ti
        if sy[s, S_QUOTED] == 0.0:
            _mark(st, s, c)
        o, h, lo = (t_open[ti], t_high[ti], t_low[ti]) if bar else (c, c, c)
        book = st[7][s]
        w = 0
        for k in range(st[12][s]):
            oid = np.uint64(book[k])  # unsigned: no negative-index checks
            if not _on_trade(st, cfg, oid, bar, o, h, lo, c, size, ts):
                book[w] = oid
                w += 1
        _resting(st, s, w)
        ist[I_TRADE] = ti + 1
        ev[EV_KIND] = KIND_BAR if bar else KIND_TRADE
    else:
        s = q_sym[qi]
        bid, bid_size, ask, ask_size = q_bid[qi], q_bsz[qi], q_ask[qi], q_asz[qi]
        sy[s, S_BID], sy[s, S_BID_SIZE] = bid, bid_size
        sy[s, S_ASK], sy[s, S_ASK_SIZE] = ask, ask_size
        sy[s, S_QUOTED] = 1.0
        _mark(st, s, 0.5 * (bid + ask))
        book = st[7][s]
        queue = cfg[C_QUEUE] != 0.0
        w = 0
        for k in range(st[12][s]):
            oid = np.uint64(book[k])
            if not _on_quote(st, cfg, oid, ts, bid, bid_size, ask, ask_size, queue):
                book[w] = oid
                w += 1
        _resting(st, s, w)
        ist[I_QUOTE] = qi + 1
        ev[EV_KIND] = KIND_QUOTE
    ev[EV_TS], ev[EV_SYMBOL] = ts, s
    ev[EV_PRICE], ev[EV_SIZE] = sy[s, S_PRICE], sy[s, S_SIZE]
    ev[EV_BID], ev[EV_BID_SIZE] = sy[s, S_BID], sy[s, S_BID_SIZE]
    ev[EV_ASK], ev[EV_ASK_SIZE] = sy[s, S_ASK], sy[s, S_ASK_SIZE]
    ev[EV_POSITION], ev[EV_CASH] = sy[s, S_POS], acct[A_CASH]
    ev[EV_EQUITY] = acct[A_CASH] + acct[A_VALUE]
    ev[EV_OPEN_BUY], ev[EV_OPEN_SELL] = sy[s, S_OPEN_BUY], sy[s, S_OPEN_SELL]
    _quoted_prices(st, s, ev)
    return s


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _resting(st, s, n):
    """Symbol ``s`` keeps the first ``n`` orders of its row of ``active``."""
    st[1][I_ACTIVE] -= st[12][s] - n
    st[12][s] = n


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _live(st, s, k):
    """The ``k``-th live order that may be of symbol ``s``: its resting orders, then every
    order in flight (a few at most; their symbol is for the caller to check)."""
    n = st[12][s]
    return st[7][s, k] if k < n else st[1][I_ARRIVED] + k - n


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _n_live(st, s):
    """How many orders :func:`_live` can give for ``s``."""
    return st[12][s] + st[1][I_ORDERS] - st[1][I_ARRIVED]


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _quoted_prices(st, s, ev):
    """Our best live limit prices on ``s`` (resting or in flight, not being cancelled)."""
    ol, oc, book = st[3], st[13], st[7][s]
    buy, sell = -np.inf, np.inf
    for k in range(st[12][s]):  # resting: all of them are s's (no symbol to check)
        buy, sell = _limit_prices(ol, oc, book[k], buy, sell)
    for oid in range(st[1][I_ARRIVED], st[1][I_ORDERS]):  # in flight: of any symbol
        if ol[oid, O_SYMBOL] == s:
            buy, sell = _limit_prices(ol, oc, oid, buy, sell)
    ev[EV_BUY_PX] = buy if buy > -np.inf else np.nan
    ev[EV_SELL_PX] = sell if sell < np.inf else np.nan


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _limit_prices(ol, oc, oid, buy, sell):
    """(buy, sell) with order ``oid``'s price taken in if it is a live limit not being
    cancelled."""
    if oc[oid, OC_TYPE] == LIMIT and oc[oid, OC_CANCELLING] == 0 and oc[oid, OC_STATUS] <= OPEN:
        if oc[oid, OC_SIDE] > 0:
            buy = max(buy, ol[oid, O_PRICE])
        else:
            sell = min(sell, ol[oid, O_PRICE])
    return buy, sell


@nb.njit(cache=True, _nrt=False, forceinline=True)
def submit(st, cfg, lcfg, out, n, ev):
    """Check and log the ``n`` requests of ``out`` made at ``ev``'s time; they arrive
    ``latency`` ns later. An order that breaks a rule is logged as rejected, with why; a
    cancel of no order is counted and dropped."""
    ist, sy, ol, ot, kq, kt, oc = st[1], st[2], st[3], st[4], st[10], st[11], st[13]
    ts = ist[I_TS]  # exact, where ev[EV_TS] is a float
    nsym = sy.shape[0]
    for r in range(n):
        typ, sym, qty, price, tif = (out[r, R_TYPE], out[r, R_SYMBOL], out[r, R_QTY],
                                     out[r, R_PRICE], out[r, R_TIF])
        if typ == CANCEL or typ == CANCEL_ALL:
            target = price if typ == CANCEL else sym
            ok = (0 <= target < ist[I_ORDERS] if typ == CANCEL else 0 <= target < nsym) \
                and target == int(target)
            if not ok:
                ist[I_BAD_CANCELS] += 1
                continue
            slot = ist[I_KTAIL] & (kt.shape[0] - 1)
            ist[I_KTAIL] += 1
            kq[slot, K_KIND], kq[slot, K_TARGET], kq[slot, K_BEFORE] = typ, target, \
                ist[I_ORDERS]
            kt[slot] = ts + lcfg[L_LATENCY]
            _flag_cancelling(st, typ, target)
            continue
        oid = ist[I_ORDERS]
        ist[I_ORDERS] = oid + 1
        ot[oid, T_SUBMIT], ot[oid, T_DONE] = ts, -1
        ol[oid, O_SYMBOL], ol[oid, O_PRICE], ol[oid, O_QTY] = sym, price, abs(qty)
        ol[oid, O_FILLED], ol[oid, O_AVG], ol[oid, O_QUEUE], ol[oid, O_FEES] = \
            0.0, np.nan, 0.0, 0.0
        known = typ == MARKET or typ == LIMIT or typ == STOP
        oc[oid, OC_SIDE] = 1 if qty > 0 else -1
        oc[oid, OC_TYPE] = typ if known else BAD_TYPE
        oc[oid, OC_TIF] = IOC if tif == IOC else GTC
        oc[oid, OC_STATUS], oc[oid, OC_REASON], oc[oid, OC_CANCELLING] = PENDING, NO_REASON, 0
        reason = _check(st, cfg, oid, nsym, known and (tif == GTC or tif == IOC))
        if reason != NO_REASON:
            oc[oid, OC_STATUS], oc[oid, OC_REASON], ot[oid, T_DONE] = REJECTED, reason, ts
            continue
        s = int(sym)
        if qty > 0:
            sy[s, S_OPEN_BUY] += qty
        else:
            sy[s, S_OPEN_SELL] -= qty
    ev[EV_LAST_ORDER] = ist[I_ORDERS] - 1
    ev[EV_OPEN_BUY], ev[EV_OPEN_SELL] = sy[int(ev[EV_SYMBOL]), S_OPEN_BUY], \
        sy[int(ev[EV_SYMBOL]), S_OPEN_SELL]


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _flag_cancelling(st, kind, target):
    """Mark the live orders a cancel request will cancel (so decide stops seeing them)."""
    ol, oc = st[3], st[13]
    if kind == CANCEL:
        oc[int(target), OC_CANCELLING] = 1
        return
    s = int(target)
    for k in range(_n_live(st, s)):
        oid = _live(st, s, k)
        if ol[oid, O_SYMBOL] == target and oc[oid, OC_STATUS] <= OPEN:
            oc[oid, OC_CANCELLING] = 1


@nb.njit(cache=True, _nrt=False, forceinline=True)
def _check(st, cfg, oid, nsym, known):
    """Why request ``oid`` is rejected, or NO_REASON; ``known``: its type and time in force
    are ones there are (the codes log only those)."""
    sy, ol, oc = st[2], st[3], st[13]
    typ, sym, qty, price = oc[oid, OC_TYPE], ol[oid, O_SYMBOL], ol[oid, O_QTY], ol[oid, O_PRICE]
    if not (known and sym == int(sym) and 0 <= sym < nsym and 0.0 < qty <= _MAX):
        return INVALID
    if typ != MARKET and not 0.0 < price <= _MAX:
        return INVALID
    s = int(sym)
    side = oc[oid, OC_SIDE]
    pos = sy[s, S_POS]
    # the position if this order and every open order on its side fill
    worst = pos + sy[s, S_OPEN_BUY] + qty if side > 0 else pos - sy[s, S_OPEN_SELL] - qty
    tol = 1e-9 * max(1.0, qty)
    if side < 0 and cfg[C_SHORT] == 0.0 and worst < -tol:
        return NO_SHORTING
    if abs(worst) > cfg[C_MAX_POS] + tol and abs(worst) > abs(pos):
        return POSITION_LIMIT
    ref = price if typ != MARKET else sy[s, S_MARK]
    if abs(worst) * ref > cfg[C_MAX_NOTIONAL] and abs(worst) > abs(pos):
        return NOTIONAL_LIMIT
    return NO_REASON


@nb.njit(cache=True, _nrt=False, forceinline=True)
def has_room(st, requests):
    """Whether the logs can take one more event and its ``requests`` (else grow them)."""
    ist, ol, fl, active, eq, kt = st[1], st[3], st[5], st[7], st[9], st[11]
    live = ist[I_ACTIVE] + ist[I_ORDERS] - ist[I_ARRIVED]
    return (ist[I_ORDERS] + requests <= ol.shape[0]
            and ist[I_FILLS] + live + 1 <= fl.shape[0]
            and live + requests <= active.shape[1]  # room in any symbol's row
            and ist[I_SAMPLES] + 2 <= eq.shape[0]
            and ist[I_KTAIL] - ist[I_KHEAD] + requests <= kt.shape[0])


@nb.njit(cache=True, _nrt=False)
def finish(st, lcfg):
    """Record the equity of the last bucket."""
    if st[1][I_STARTED]:
        _sample(st, lcfg[L_EVERY])
        st[1][I_STARTED] = 0
