"""Numba kernels of the microstructure features, on trades (price, size, side) and L1 quotes
(bid_px, bid_sz, ask_px, ask_sz), some over time windows (ts, int64 UTC nanoseconds).

Each feature has a batch kernel ``*_into`` (arrays in, a preallocated output filled; its state
in registers) and a streaming step ``*_step`` on a float64 state array (the layout of
stream_kernels.py: ``[count, dead, ...]``, NaN policy included) with its bulk loop ``*_many``.
Windowed sums over N events are running sums recomputed exactly from the window once per N
events, at the same points in both forms, so they round alike and rounding cannot build up
over a long stream; the property tests hold the two forms equal.

Time windows (``ofi_time``, ``vwap_time``) are (ts - window, ts]; their events live in a ring of
``capacity`` entries whose timestamps are kept exactly as offsets from a base timestamp.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from cift.errors import ParameterError
from cift.features.kernels import first_nan
from cift.features.stream_kernels import NAN, _advance, _count_in, _next_slot, _ring_sum

_REBASE = 2.0 ** 52  # offsets from the base stay exact integers in float64 below 2**53
_FULL = ("capacity: the time window holds more events than the stream's capacity; make a "
         "stream with a larger capacity")


# --- quotes, one at a time ------------------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def spread_step(s, bid, ask):
    dead, _ = _advance(s, 0, (bid != bid) | (ask != ask))
    return NAN if dead else ask - bid


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def spread_bps_step(s, bid, ask):
    dead, _ = _advance(s, 0, (bid != bid) | (ask != ask))
    mid = (bid + ask) * 0.5
    return NAN if dead or mid == 0.0 else (ask - bid) / mid * 1e4


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def quote_imbalance_step(s, bid_sz, ask_sz):
    dead, _ = _advance(s, 0, (bid_sz != bid_sz) | (ask_sz != ask_sz))
    total = bid_sz + ask_sz
    return NAN if dead else ((bid_sz - ask_sz) / total if total > 0.0 else 0.0)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _touch_average(bid, bid_weight, ask, ask_weight):
    """The bid and ask averaged with these weights; the mid when both weights are 0. The
    micro-price weighs each side by the other side's size, the weighted mid by its own."""
    total = bid_weight + ask_weight
    return (bid * bid_weight + ask * ask_weight) / total if total > 0.0 else (bid + ask) * 0.5


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def microprice_step(s, bid, bid_sz, ask, ask_sz):
    dead, _ = _advance(s, 0, (bid != bid) | (bid_sz != bid_sz) | (ask != ask) | (ask_sz != ask_sz))
    return NAN if dead else _touch_average(bid, ask_sz, ask, bid_sz)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def weighted_mid_step(s, bid, bid_sz, ask, ask_sz):
    dead, _ = _advance(s, 0, (bid != bid) | (bid_sz != bid_sz) | (ask != ask) | (ask_sz != ask_sz))
    return NAN if dead else _touch_average(bid, bid_sz, ask, ask_sz)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ofi_event(bid, bid_sz, ask, ask_sz, pbid, pbid_sz, pask, pask_sz):
    """Cont-Kukanov-Stoikov: the order flow one L1 update adds at the bid minus the ask."""
    # selects, not branches: price moves are coin flips a branch predictor cannot learn
    # (written as conditional values, not size * bool: those vectorize, products did not)
    return ((bid_sz if bid >= pbid else 0.0) - (pbid_sz if bid <= pbid else 0.0)
            - (ask_sz if ask <= pask else 0.0) + (pask_sz if ask >= pask else 0.0))


@nb.njit(cache=True, error_model="numpy", inline="always")
def _window_add(s, ring, p, slot, value, total, full):
    """A window sum of p values with its ring at s[ring:]: the k-th value (slot = k % p)
    takes the place of the one p before it, which leaves ``total`` if the window is ``full``;
    the sum is taken afresh from the ring at each turn. Returns the new sum (the steps keep it
    in the state, the bulk loops in a local)."""
    if full:
        total -= s[ring + slot]
    s[ring + slot] = value
    return _ring_sum(s, ring, p) if slot == p - 1 else total + value


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def ofi_step(s, bid, bid_sz, ask, ask_sz):
    """[count, dead, p, total, prev bid, bid_sz, ask, ask_sz, ring(p)]: OFI over p updates."""
    dead, n = _advance(s, 0, (bid != bid) | (bid_sz != bid_sz) | (ask != ask) | (ask_sz != ask_sz))
    if dead:
        return NAN
    p = int(s[2])
    e = _ofi_event(bid, bid_sz, ask, ask_sz, s[4], s[5], s[6], s[7])
    s[4], s[5], s[6], s[7] = bid, bid_sz, ask, ask_sz
    if n == 0:
        return NAN
    k = n - 1  # index of this event's flow
    slot = k % p
    s[3] = _window_add(s, 8, p, slot, e, s[3], k >= p)
    return s[3] if k >= p - 1 else NAN


# --- trades ---------------------------------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def trade_imbalance_step(s, side):
    """[count, dead, p, total, ring(p)]: mean trade sign of the last p trades."""
    dead, n = _advance(s, 0, side != side)
    if dead:
        return NAN
    p = int(s[2])
    slot = n % p
    s[3] = _window_add(s, 4, p, slot, side, s[3], n >= p)
    return s[3] / p if n >= p - 1 else NAN


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def volume_imbalance_step(s, size, side):
    """[count, dead, p, signed, volume, ring signed(p), ring volume(p)]: signed / total volume
    of the last p trades (0 when they hold no volume)."""
    dead, n = _advance(s, 0, (size != size) | (side != side))
    if dead:
        return NAN
    p = int(s[2])
    slot = n % p
    s[3] = _window_add(s, 5, p, slot, side * size, s[3], n >= p)
    s[4] = _window_add(s, 5 + p, p, slot, size, s[4], n >= p)
    if n < p - 1:
        return NAN
    return s[3] / s[4] if s[4] > 0.0 else 0.0


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def kyle_lambda_step(s, price, size, side):
    """[count, dead, p, prev price, sum q, sum dp, sum qq, sum q dp, rings q, dp, qq, q dp (p)]:
    the OLS slope of price changes on signed volume q = side * size over the last p trades;
    NaN when q does not vary in the window."""
    dead, n = _advance(s, 0, (price != price) | (size != size) | (side != side))
    if dead:
        return NAN
    p = int(s[2])
    dp = price - s[3]
    s[3] = price
    if n == 0:
        return NAN
    k = n - 1
    q = side * size
    slot = k % p
    for j, v in enumerate((q, dp, q * q, q * dp)):
        s[4 + j] = _window_add(s, 8 + j * p, p, slot, v, s[4 + j], k >= p)
    if k < p - 1:
        return NAN
    den = p * s[6] - s[4] * s[4]
    if not den > 1e-12 * p * s[6]:
        return NAN
    return (p * s[7] - s[4] * s[5]) / den


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def vpin_step(s, size, side):
    """[count, dead, bucket volume, window, filled, imbalance, total, buckets done, ring(window)]:
    VPIN, the mean |buy - sell| volume of the last ``window`` full volume buckets over the
    bucket volume. A trade is split across the buckets it fills; side 0 is half and half."""
    dead, _ = _advance(s, 0, (size != size) | (side != side))
    if dead:
        return NAN
    bucket, w = s[2], int(s[3])
    s[4], s[5], s[6], s[7] = _vpin_trade(s, 8, w, bucket, size, side, s[4], s[5], s[6],
                                         int(s[7]))
    return s[6] / (w * bucket) if s[7] >= w else NAN


@nb.njit(cache=True, error_model="numpy", inline="always")
def _vpin_into_open(filled, imbalance, size, side):
    """A trade of 0 < size < the open bucket's room: exactly _vpin_trade's first (and only)
    step, without its loop (the bulk loops take most trades this way)."""
    sign = 1.0 if side > 0 else (-1.0 if side < 0 else 0.0)
    return filled + size, imbalance + sign * size


@nb.njit(cache=True, error_model="numpy", inline="always")
def _vpin_trade(ring, at, w, bucket, size, side, filled, imbalance, total, done):
    """One trade into VPIN's volume buckets, split across the ones it fills; the |imbalance|
    of each full bucket enters the window of the last w, its ring at ring[at:]. Returns the
    open bucket's volume and imbalance, the window's sum and the buckets done."""
    sign = 1.0 if side > 0 else (-1.0 if side < 0 else 0.0)
    left = size
    while left > 0.0:
        room = bucket - filled
        take = left if left < room else room
        imbalance += sign * take
        left -= take
        if take == room:  # the bucket is full
            total = _window_add(ring, at, w, done % w, abs(imbalance), total, done >= w)
            done += 1
            filled = 0.0
            imbalance = 0.0
        else:
            filled += take
    return filled, imbalance, total, done


# --- time windows ---------------------------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", inline="always")
def _wrap(i, cap):
    """i % cap for 0 <= i < 2 cap, without an integer division (tens of cycles each)."""
    return i - cap if i >= cap else i


@nb.njit(cache=True, error_model="numpy", inline="always")
def _check_next(s, o, ts):
    """Raise, before a bulk update touches the state, if ts is earlier than the stream's last
    timestamp (the bulk's own order is checked beforehand), so a rejected batch changes
    nothing."""
    if s[0] > 0:
        base = (np.int64(s[o + 0]) << 32) | np.int64(s[o + 1])
        if float(ts - base) < s[o + 2]:
            raise ParameterError("ts: timestamps must not decrease")


@nb.njit(cache=True, error_model="numpy", inline="always")
def _offset(s, o, ts, first):
    """ts as an exact float offset from the stream's base (its first ts, moved forward when
    offsets near 2**52 ns, about 52 days). State at o: [base hi, base lo, last offset, head,
    size, capacity], then the ring of offsets. Raises on a ts earlier than the last."""
    if first:
        s[o + 0] = float(ts >> 32)
        s[o + 1] = float(ts & 0xFFFFFFFF)
    base = (np.int64(s[o + 0]) << 32) | np.int64(s[o + 1])
    rel = float(ts - base)
    if rel < s[o + 2]:
        raise ParameterError("ts: timestamps must not decrease")
    if rel >= _REBASE:  # move the base to ts: every kept offset shifts by the same amount
        head, size, cap = int(s[o + 3]), int(s[o + 4]), int(s[o + 5])
        for j in range(size):
            s[o + 6 + _wrap(head + j, cap)] -= rel
        s[o + 2] -= rel
        s[o + 0] = float(ts >> 32)
        s[o + 1] = float(ts & 0xFFFFFFFF)
        rel = 0.0
    s[o + 2] = rel
    return rel


@nb.njit(cache=True, error_model="numpy", inline="always")
def _window_push(s, o, rel, window):
    """Drop the events at or before rel - window, then take a slot for one at rel; returns the
    new event's slot and the dropped range (first slot, count) for the caller's sums."""
    head, size, cap = int(s[o + 3]), int(s[o + 4]), int(s[o + 5])
    first, dropped = head, 0
    while size > 0 and s[o + 6 + head] <= rel - window:
        head = head + 1 if head + 1 < cap else 0
        size -= 1
        dropped += 1
    if size == cap:
        raise ParameterError(_FULL)
    slot = _wrap(head + size, cap)
    s[o + 6 + slot] = rel
    s[o + 3] = head
    s[o + 4] = size + 1
    return slot, first, dropped


@nb.njit(cache=True, error_model="numpy", inline="always")
def _window_sum(s, o, at):
    """The exact sum of the live entries of the ring of values at s[at:]."""
    head, size, cap = int(s[o + 3]), int(s[o + 4]), int(s[o + 5])
    total = 0.0
    for j in range(size):
        total += s[at + _wrap(head + j, cap)]
    return total


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def ofi_time_step(s, ts, bid, bid_sz, ask, ask_sz):
    """[count, dead, window, total, prev quote (4), clock (6), ring ts(cap), ring flow(cap)]:
    OFI of the updates in (ts - window, ts]; the first update's flow is 0."""
    bad = (bid != bid) | (bid_sz != bid_sz) | (ask != ask) | (ask_sz != ask_sz)
    if bad and s[0] == 0.0:
        return NAN  # a leading NaN: skipped without a trace, as update_many strips it
    rel = _offset(s, 8, ts, s[0] == 0.0)  # first: a rejected ts changes nothing
    dead, n = _advance(s, 0, bad)
    if dead:
        return NAN
    e = 0.0 if n == 0 else _ofi_event(bid, bid_sz, ask, ask_sz, s[4], s[5], s[6], s[7])
    s[4], s[5], s[6], s[7] = bid, bid_sz, ask, ask_sz
    cap = int(s[13])
    values = 14 + cap
    slot, first, dropped = _window_push(s, 8, rel, s[2])
    for j in range(dropped):
        s[3] -= s[values + _wrap(first + j, cap)]
    s[values + slot] = e
    s[3] += e
    if slot == cap - 1:
        s[3] = _window_sum(s, 8, values)
    return s[3]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def vwap_time_step(s, ts, price, volume):
    """[count, dead, window, notional, volume, clock (6), ring ts, price, volume (cap)]:
    VWAP of the trades in (ts - window, ts]; NaN when they hold no volume."""
    bad = (price != price) | (volume != volume)
    if bad and s[0] == 0.0:
        return NAN  # a leading NaN: skipped without a trace, as update_many strips it
    rel = _offset(s, 5, ts, s[0] == 0.0)  # first: a rejected ts changes nothing
    dead, n = _advance(s, 0, bad)
    if dead:
        return NAN
    cap = int(s[10])
    prices = 11 + cap
    volumes = 11 + 2 * cap
    slot, first, dropped = _window_push(s, 5, rel, s[2])
    for j in range(dropped):
        old = _wrap(first + j, cap)
        s[3] -= s[prices + old] * s[volumes + old]
        s[4] -= s[volumes + old]
    s[prices + slot] = price
    s[volumes + slot] = volume
    s[3] += price * volume
    s[4] += volume
    if slot == cap - 1:
        head, size = int(s[8]), int(s[9])
        notional = 0.0
        for j in range(size):
            i = _wrap(head + j, cap)
            notional += s[prices + i] * s[volumes + i]
        s[3] = notional
        s[4] = _window_sum(s, 5, volumes)
    return s[3] / s[4] if s[4] != 0.0 else NAN


_SMALL_MOVE = 2.0 ** -7  # |u| below this: log1p(u) by its series to u**8 (error < 2**-55 |u|)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _log1p_small(u):
    """log(1 + u) for |u| < _SMALL_MOVE: Horner's form of the series, which vectorizes (libm's
    log does not: 9.6 ns a call here, the whole of realized_vol's budget)."""
    return u * (1.0 + u * (-0.5 + u * (1.0 / 3.0 + u * (-0.25 + u * (
        0.2 + u * (-1.0 / 6.0 + u * (1.0 / 7.0 + u * -0.125)))))))


@nb.njit(cache=True, error_model="numpy", inline="always")
def _log_return(price, prev):
    """log(price / prev), as log1p of the relative move: for the small moves between trades
    this is also the more exact form (price / prev rounds to a multiple of 2**-52 near 1)."""
    u = (price - prev) / prev
    return _log1p_small(u) if abs(u) < _SMALL_MOVE else np.log(price / prev)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def realized_vol_step(s, ts, price):
    """[count, dead, interval, bucket, sum r^2, prev price]: sqrt of the summed squared log
    returns between the trades of ts's interval so far (0 at an interval's first trade)."""
    bucket = float(ts // np.int64(s[2]))
    if s[0] > 0 and bucket < s[3]:  # before any change: a rejected ts changes nothing
        raise ParameterError("ts: timestamps must not decrease")
    dead, n = _advance(s, 0, price != price)
    if dead:
        return NAN
    if n == 0 or bucket != s[3]:
        s[3] = bucket
        s[4] = 0.0
    else:
        r = _log_return(price, s[5])
        s[4] += r * r
    s[5] = price
    return np.sqrt(s[4])


# --- bulk drivers and batch kernels ---------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", nogil=True)
def spread_many(s, bid, ask, out):
    for i in range(bid.shape[0]):
        out[i] = spread_step(s, bid[i], ask[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def spread_bps_many(s, bid, ask, out):
    for i in range(bid.shape[0]):
        out[i] = spread_bps_step(s, bid[i], ask[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def quote_imbalance_many(s, bid_sz, ask_sz, out):
    for i in range(bid_sz.shape[0]):
        out[i] = quote_imbalance_step(s, bid_sz[i], ask_sz[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def microprice_many(s, bid, bid_sz, ask, ask_sz, out):
    for i in range(bid.shape[0]):
        out[i] = microprice_step(s, bid[i], bid_sz[i], ask[i], ask_sz[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def weighted_mid_many(s, bid, bid_sz, ask, ask_sz, out):
    for i in range(bid.shape[0]):
        out[i] = weighted_mid_step(s, bid[i], bid_sz[i], ask[i], ask_sz[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ofi_many(s, bid, bid_sz, ask, ask_sz, out):
    """ofi_step over the arrays, its scalars in locals for the run (as kyle_lambda_many)."""
    count, dead, p, total = s[0], s[1] != 0.0, int(s[2]), s[3]
    pb, pbs, pa, paz = s[4], s[5], s[6], s[7]
    slot = (int(count) - 1) % p if count >= 1.0 else 0  # of flow k = n - 1
    for i in range(bid.shape[0]):
        b, bs, a, az = bid[i], bid_sz[i], ask[i], ask_sz[i]
        dead, n, count = _count_in(dead, (b != b) | (bs != bs) | (a != a) | (az != az), count)
        if dead:
            out[i] = NAN
            continue
        e = _ofi_event(b, bs, a, az, pb, pbs, pa, paz)
        pb, pbs, pa, paz = b, bs, a, az
        if n == 0.0:
            out[i] = NAN
            continue
        total = _window_add(s, 8, p, slot, e, total, n - 1.0 >= p)
        out[i] = total if n >= p else NAN
        slot = _next_slot(slot, p)
    s[0], s[1], s[3] = count, 1.0 if dead else 0.0, total
    s[4], s[5], s[6], s[7] = pb, pbs, pa, paz


@nb.njit(cache=True, error_model="numpy", nogil=True)
def trade_imbalance_many(s, side, out):
    """trade_imbalance_step over the array, its scalars in locals (as ofi_many)."""
    count, dead, p, total = s[0], s[1] != 0.0, int(s[2]), s[3]
    slot = int(count) % p
    for i in range(side.shape[0]):
        v = side[i]
        dead, n, count = _count_in(dead, v != v, count)
        if dead:
            out[i] = NAN
            continue
        total = _window_add(s, 4, p, slot, v, total, n >= p)
        out[i] = total / p if n >= p - 1 else NAN
        slot = _next_slot(slot, p)
    s[0], s[1], s[3] = count, 1.0 if dead else 0.0, total


@nb.njit(cache=True, error_model="numpy", nogil=True)
def volume_imbalance_many(s, size, side, out):
    """volume_imbalance_step over the arrays, its scalars in locals (as ofi_many)."""
    count, dead, p, signed, volume = s[0], s[1] != 0.0, int(s[2]), s[3], s[4]
    slot = int(count) % p
    for i in range(size.shape[0]):
        sz, sd = size[i], side[i]
        dead, n, count = _count_in(dead, (sz != sz) | (sd != sd), count)
        if dead:
            out[i] = NAN
            continue
        signed = _window_add(s, 5, p, slot, sd * sz, signed, n >= p)
        volume = _window_add(s, 5 + p, p, slot, sz, volume, n >= p)
        out[i] = NAN if n < p - 1 else (signed / volume if volume > 0.0 else 0.0)
        slot = _next_slot(slot, p)
    s[0], s[1], s[3], s[4] = count, 1.0 if dead else 0.0, signed, volume


@nb.njit(cache=True, error_model="numpy", nogil=True)
def kyle_lambda_many(s, price, size, side, out):
    """kyle_lambda_step over the arrays, its count, flag, last price and four window sums in
    locals for the run (through the state array each step would chain on the last one's
    stores); the same operations in the same order."""
    count, dead, p, prev = s[0], s[1] != 0.0, int(s[2]), s[3]
    sq, sdp, sqq, sqdp = s[4], s[5], s[6], s[7]
    rq, rdp, rqq, rqdp = 8, 8 + p, 8 + 2 * p, 8 + 3 * p  # the rings
    slot = (int(count) - 1) % p if count >= 1.0 else 0  # of trade k = n - 1, then counted
    for i in range(price.shape[0]):
        px, sz, sd = price[i], size[i], side[i]
        dead, n, count = _count_in(dead, (px != px) | (sz != sz) | (sd != sd), count)
        n = int(n)
        if dead:
            out[i] = NAN
            continue
        dp = px - prev
        prev = px
        if n == 0:
            out[i] = NAN
            continue
        k = n - 1
        q = sd * sz
        sq = _window_add(s, rq, p, slot, q, sq, k >= p)
        sdp = _window_add(s, rdp, p, slot, dp, sdp, k >= p)
        sqq = _window_add(s, rqq, p, slot, q * q, sqq, k >= p)
        sqdp = _window_add(s, rqdp, p, slot, q * dp, sqdp, k >= p)
        slot = _next_slot(slot, p)
        if k < p - 1:
            out[i] = NAN
            continue
        den = p * sqq - sq * sq
        out[i] = (p * sqdp - sq * sdp) / den if den > 1e-12 * p * sqq else NAN
    s[0], s[1], s[3] = count, 1.0 if dead else 0.0, prev
    s[4], s[5], s[6], s[7] = sq, sdp, sqq, sqdp


@nb.njit(cache=True, error_model="numpy", nogil=True)
def vpin_many(s, size, side, out):
    """vpin_step over the arrays, its scalars in locals (as ofi_many)."""
    count, dead, bucket, w = s[0], s[1] != 0.0, s[2], int(s[3])
    filled, imbalance, total, done = s[4], s[5], s[6], int(s[7])
    value = total / (w * bucket) if done >= w else NAN
    for i in range(size.shape[0]):
        sz, sd = size[i], side[i]
        dead, _, count = _count_in(dead, (sz != sz) | (sd != sd), count)
        if dead:
            out[i] = NAN
            continue
        # as vpin_into, spelled out in both loops: the same branch in a shared inline helper
        # ran 2x slower (15 -> 31 ns/trade; LLVM lays the helper's branches out worse)
        if 0.0 < sz < bucket - filled:
            filled, imbalance = _vpin_into_open(filled, imbalance, sz, sd)
        else:
            filled, imbalance, total, done = _vpin_trade(s, 8, w, bucket, sz, sd, filled,
                                                         imbalance, total, done)
            value = total / (w * bucket) if done >= w else NAN
        out[i] = value
    s[0], s[1] = count, 1.0 if dead else 0.0
    s[4], s[5], s[6], s[7] = filled, imbalance, total, done


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _dead_tail(s, o, ts, start, out):
    """The inputs from ``start`` on reach a dead stream (a NaN there or before): each
    output is NaN, each is counted, and the clock moves on as the step's _offset moves it."""
    if start == ts.shape[0]:
        return
    out[start:] = NAN
    s[1] = 1.0
    for i in range(start, ts.shape[0]):
        _offset(s, o, ts[i], s[0] == 0.0)
        s[0] += 1.0


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ring_offset(s, times, head, size, cap, t, base):
    """t's offset from ``base``, and the base: at 2**52 ns it moves to t, and the offsets of
    the ring's ``size`` events from ``head`` move with it (as _offset)."""
    rel = float(t - base)
    if rel < _REBASE:
        return rel, base
    for k in range(size):
        s[times + _wrap(head + k, cap)] -= rel
    return 0.0, t


@nb.njit(cache=True, error_model="numpy", inline="always")
def _bulk_clock(s, o, t0):
    """A time-window state's clock at offset o (see _offset), for a bulk loop from ts t0:
    (base, head, size, capacity, the slot update 0's push takes (update k's is k slots on),
    the first update whose push takes the ring's last slot, where the step sums afresh)."""
    base = t0 if s[0] == 0.0 else (np.int64(s[o]) << 32) | np.int64(s[o + 1])
    head, size, cap = int(s[o + 3]), int(s[o + 4]), int(s[o + 5])
    slot0 = _wrap(head + size, cap)
    return base, head, size, cap, slot0, cap - 1 - slot0


@nb.njit(cache=True, error_model="numpy", inline="always")
def _store_clock(s, o, base, last, head, size):
    """Write a bulk loop's clock back into the state at offset o."""
    s[o], s[o + 1] = float(base >> 32), float(base & 0xFFFFFFFF)
    s[o + 2], s[o + 3], s[o + 4] = last, head, size


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _moved_base(ts, start, end, base):
    """The clock's base after updates start..end - 1: it moves to an update's ts when its
    offset would reach 2**52 ns (as _offset moves it)."""
    if end > start and float(ts[end - 1] - base) >= _REBASE:  # rare: only then look where
        for k in range(start, end):
            if float(ts[k] - base) >= _REBASE:
                base = ts[k]
    return base


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _ring_put_times(s, at, ts, end, slot0, cap, base):
    """_ring_put of the updates' offsets from ``base``."""
    first = max(0, end - cap)
    slot = (slot0 + first) % cap
    for k in range(first, end):
        s[at + slot] = float(ts[k] - base)
        slot = _next_slot(slot, cap)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ofi_time_many(s, ts, bid, bid_sz, ask, ask_sz, out):
    """ofi_time_step over the arrays: the same values (the same terms summed in the same
    order) and the same state, arranged for speed. The flows go into ``out`` first (one
    vectorized pass, which also finds a NaN); update i's output replaces its flow, which the
    ring keeps for when it leaves the window.

    While events from before this call are in the window, each update runs as the step does,
    against the ring's times. Once they have all left, the window's times are the array's:
    the flows leaving (at j) and entering (at i) are one merged sequence, one move per step
    chosen by arithmetic and selects, not branches (as ofi_time_into: how many leave per
    update varies at random, and the step's ``while`` mispredicted about once per update).
    Comparing ns is comparing the step's float offsets (exact integers below 2**53); the ring's
    times are written at the end, from the clock's last base."""
    n = ts.shape[0]
    if n == 0:
        return
    _check_next(s, 8, ts[0])  # the arrays themselves were checked in order
    clean = _ofi_flows(bid, bid_sz, ask, ask_sz, out)
    # the updates the stream takes before it dies (the rest are counted, see _dead_tail)
    live = 0 if s[1] != 0.0 else n if clean else \
        min(first_nan(bid), first_nan(bid_sz), first_nan(ask), first_nan(ask_sz))
    if live > 0:
        if s[0] != 0.0:  # the first update's flow is from the stream's last quote
            out[0] = _ofi_event(bid[0], bid_sz[0], ask[0], ask_sz[0], s[4], s[5], s[6], s[7])
        window, total = s[2], s[3]
        base, head, size, cap, slot0, turn = _bulk_clock(s, 8, ts[0])
        times, values = 14, 14 + cap
        old = size  # events from before this call still in the window
        i, full = 0, False
        while i < live and old > 0:  # as the step, on the ring
            rel, base = _ring_offset(s, times, head, size, cap, ts[i], base)
            while size > 0 and s[times + head] <= rel - window:
                total -= s[values + head]
                head = _next_slot(head, cap)
                size -= 1
                old = max(old - 1, 0)
            if size == cap:
                full = True
                break
            e, slot = out[i], _wrap(head + size, cap)
            s[times + slot] = rel
            s[values + slot] = e
            size += 1
            total += e
            if i == turn:  # the sum afresh from the window (as the step)
                total = _ring_values_sum(s, values, head, size, cap)
                turn += cap
            out[i] = total
            i += 1
        j = i - size  # the window's oldest event: its time is the array's from here on
        span = np.int64(window)  # in ns: a float conversion per step was twice as slow
        tail = _wrap(head + size, cap)  # the ring's next free slot
        e = out[min(i, n - 1)]
        u = np.uint64  # indices known to be >= 0: no check for negative ones (and fewer
        while i < live and not full:  # registers; a spilled i doubled the step's time)
            if i > turn:  # update i - 1 took the ring's last slot: the sum afresh
                total = _ring_values_sum(s, values, head, i - j, cap)
                out[i - 1] = total
                turn += cap
            leave = np.int64(ts[u(j)] <= ts[u(i)] - span)  # then j < i (window >= 1)
            gone = s[u(values + head)]
            s[u(values + tail)] = e  # at a pop too: the slot its push takes, so no harm
            e_next = out[u(min(i + 1, n - 1))]  # before out[i + 1] holds an output
            before = total
            total += -gone if leave else e  # both loaded, then selected
            out[u(i)] = total
            j += leave
            i += 1 - leave
            head = _wrap(head + leave, cap)
            tail = _wrap(tail + 1 - leave, cap)
            e = e if leave else e_next
            if i - j > cap:  # update i - 1 found the ring full: undo its push, which
                i -= 1  # took the oldest's slot; the step raises there
                tail = _wrap(tail + cap - 1, cap)
                s[values + tail] = gone
                total = before
                full = True
        if i > turn and not full:  # the last update took the ring's last slot
            total = _ring_values_sum(s, values, head, i - j, cap)
            out[i - 1] = total
        size = i - j
        k = i if full else live - 1  # the last update the state has seen
        base = _moved_base(ts, 0, k + 1, base)
        _ring_put_times(s, times, ts, i, slot0, cap, base)
        s[0] += k + 1
        s[3] = total
        _store_clock(s, 8, base, float(ts[k] - base), head, size)
        s[4], s[5], s[6], s[7] = bid[k], bid_sz[k], ask[k], ask_sz[k]
        if full:
            raise ParameterError(_FULL)
    _dead_tail(s, 8, ts, live, out)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _vwap_sums(price, volume, lo, hi):
    """Notional and volume of trades lo..hi - 1, summed in order."""
    notional = 0.0
    vol = 0.0
    for k in range(lo, hi):
        notional += price[k] * volume[k]
        vol += volume[k]
    return notional, vol


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ring_vwap_sums(s, prices, volumes, head, size, cap):
    """Notional and volume of the ring's ``size`` live trades from ``head``, in order."""
    notional = 0.0
    vol = 0.0
    for j in range(size):
        k = _wrap(head + j, cap)
        notional += s[prices + k] * s[volumes + k]
        vol += s[volumes + k]
    return notional, vol


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _ring_put(s, at, x, end, slot0, cap):
    """Write x[:end] into the ring at s[at:] as the steps push them, update k into slot
    (slot0 + k) % cap: only the last ``cap`` of them can still be there."""
    first = max(0, end - cap)
    slot = (slot0 + first) % cap
    for k in range(first, end):
        s[at + slot] = x[k]
        slot = _next_slot(slot, cap)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def vwap_time_many(s, ts, price, volume, out):
    """vwap_time_step over the arrays, the same values and state, arranged as
    ofi_time_many: as the step while trades from before this call are in the window, then
    the merged sequence on the arrays, whose prices and volumes are also the leaving
    trades' (so the ring is written once, at the end)."""
    n = ts.shape[0]
    if n == 0:
        return
    _check_next(s, 5, ts[0])  # the arrays themselves were checked in order
    live = 0 if s[1] != 0.0 else min(first_nan(price), first_nan(volume))  # as ofi_time_many
    if live > 0:
        window, notional, vol = s[2], s[3], s[4]
        base, head, size, cap, slot0, turn = _bulk_clock(s, 5, ts[0])
        times, prices, volumes = 11, 11 + cap, 11 + 2 * cap
        old = size  # trades from before this call still in the window
        i, full = 0, False
        while i < live and old > 0:  # as the step, on the ring
            rel, base = _ring_offset(s, times, head, size, cap, ts[i], base)
            while size > 0 and s[times + head] <= rel - window:
                notional -= s[prices + head] * s[volumes + head]
                vol -= s[volumes + head]
                head = _next_slot(head, cap)
                size -= 1
                old = max(old - 1, 0)
            if size == cap:
                full = True
                break
            px, v = price[i], volume[i]
            slot = _wrap(head + size, cap)
            s[times + slot] = rel
            s[prices + slot] = px
            s[volumes + slot] = v
            size += 1
            notional += px * v
            vol += v
            if i == turn:  # the sums afresh from the window (as the step)
                notional, vol = _ring_vwap_sums(s, prices, volumes, head, size, cap)
                turn += cap
            out[i] = notional / vol if vol != 0.0 else NAN
            i += 1
        j = first = i - size  # the window's oldest trade: the arrays' from here on
        span = np.int64(window)  # in ns: a float conversion per step was twice as slow
        u = np.uint64  # indices known to be >= 0 (see ofi_time_many)
        while i < live and not full:
            if i > turn:  # trade i - 1 took the ring's last slot: the sums afresh
                notional, vol = _vwap_sums(price, volume, j, i)
                out[i - 1] = notional / vol if vol != 0.0 else NAN
                turn += cap
            leave = ts[u(j)] <= ts[u(i)] - span  # then j < i (window >= 1)
            k = j if leave else i  # the trade that moves, and which way: selects (with the
            sign = -1.0 if leave else 1.0  # loads under the choice, a branch, twice as slow)
            px, v = price[u(k)], volume[u(k)]
            before, before_vol = notional, vol
            notional += sign * (px * v)
            vol += sign * v
            out[u(i)] = notional / vol if vol != 0.0 else NAN
            j += leave
            i += not leave
            if i - j > cap:  # trade i - 1 found the ring full: the step raises there
                i -= 1
                notional, vol = before, before_vol
                full = True
        if i > turn and not full:  # the last trade took the ring's last slot
            notional, vol = _vwap_sums(price, volume, j, i)
            out[i - 1] = notional / vol if vol != 0.0 else NAN
        head = (head + j - first) % cap
        k = i if full else live - 1  # the last trade the state has seen
        base = _moved_base(ts, 0, k + 1, base)
        _ring_put_times(s, times, ts, i, slot0, cap, base)
        _ring_put(s, prices, price, i, slot0, cap)
        _ring_put(s, volumes, volume, i, slot0, cap)
        s[0] += k + 1
        s[3], s[4] = notional, vol
        _store_clock(s, 5, base, float(ts[k] - base), head, i - j)
        if full:
            raise ParameterError(_FULL)
    _dead_tail(s, 5, ts, live, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def realized_vol_many(s, ts, price, out):
    """realized_vol_step over the arrays, its scalars in locals and the interval's bounds
    kept, so ts // interval runs once per interval (as realized_vol_into)."""
    if ts.shape[0] and s[0] > 0 and float(ts[0] // np.int64(s[2])) < s[3]:
        raise ParameterError("ts: timestamps must not decrease")  # before any change
    count, dead, interval = s[0], s[1] != 0.0, np.int64(s[2])
    bucket, ss, prev = s[3], s[4], s[5]
    end = (np.int64(bucket) + 1) * interval
    for i in range(ts.shape[0]):
        t, px = ts[i], price[i]
        dead, n, count = _count_in(dead, px != px, count)
        if dead:
            out[i] = NAN
            continue
        if n == 0.0 or t >= end:
            b = t // interval
            bucket = float(b)
            end = (b + 1) * interval
            ss = 0.0
        else:
            r = _log_return(px, prev)
            ss += r * r
        prev = px
        out[i] = np.sqrt(ss)
    s[0], s[1], s[3], s[4], s[5] = count, 1.0 if dead else 0.0, bucket, ss, prev


# --- batch kernels --------------------------------------------------------------------------

# The quote kernels check their inputs for NaN in their own loop (an or-reduction that
# vectorizes with it), instead of the four scans api.py would make: they cost as much as
# the kernel. Only data with a NaN pays for a second look, to find where it starts.

@nb.njit(cache=True, error_model="numpy", nogil=True)
def spread_into(bid, ask, out):
    found = False
    for i in range(bid.shape[0]):
        b, a = bid[i], ask[i]
        out[i] = a - b
        found |= (b != b) | (a != a)
    if found:
        out[min(first_nan(bid), first_nan(ask)):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def spread_bps_into(bid, ask, out):
    found = False
    for i in range(bid.shape[0]):
        b, a = bid[i], ask[i]
        mid = (b + a) * 0.5
        out[i] = (a - b) / mid * 1e4 if mid != 0.0 else NAN
        found |= (b != b) | (a != a)
    if found:
        out[min(first_nan(bid), first_nan(ask)):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def quote_imbalance_into(bid_sz, ask_sz, out):
    found = False
    for i in range(bid_sz.shape[0]):
        b, a = bid_sz[i], ask_sz[i]
        total = b + a
        out[i] = (b - a) / total if total > 0.0 else 0.0
        found |= (b != b) | (a != a)
    if found:
        out[min(first_nan(bid_sz), first_nan(ask_sz)):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def microprice_into(bid, bid_sz, ask, ask_sz, out):
    _touch_averages(bid, ask_sz, ask, bid_sz, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def weighted_mid_into(bid, bid_sz, ask, ask_sz, out):
    _touch_averages(bid, bid_sz, ask, ask_sz, out)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _touch_averages(bid, bid_weight, ask, ask_weight, out):
    found = False
    for i in range(bid.shape[0]):
        b, bw, a, aw = bid[i], bid_weight[i], ask[i], ask_weight[i]
        out[i] = _touch_average(b, bw, a, aw)
        found |= (b != b) | (bw != bw) | (a != a) | (aw != aw)
    if found:  # the four inputs in any order: the first NaN of any
        _nan_from_first(out, bid, bid_weight, ask, ask_weight)


@nb.njit(cache=True, inline="always")
def _nan_from_first(out, bid, bid_sz, ask, ask_sz):
    out[min(first_nan(bid), first_nan(bid_sz), first_nan(ask), first_nan(ask_sz)):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _ofi_flows(bid, bid_sz, ask, ask_sz, e):
    """The flow of each update into e (the first has none: 0); False if an input holds a NaN
    (checked in the same pass: the inputs are read once, and api.py skips its own scans; the
    kernels that check this way set every output from the first NaN on to NaN themselves)."""
    if e.shape[0] == 0:
        return True
    e[0] = 0.0
    clean = (bid[0] == bid[0]) & (bid_sz[0] == bid_sz[0]) & (ask[0] == ask[0]) \
        & (ask_sz[0] == ask_sz[0])
    # views of each update and the one before, indexed from 0: the loop vectorizes
    b, bs, a, az, out = bid[1:], bid_sz[1:], ask[1:], ask_sz[1:], e[1:]
    pb, pbs, pa, paz = bid[:-1], bid_sz[:-1], ask[:-1], ask_sz[:-1]
    for i in range(out.shape[0]):
        out[i] = _ofi_event(b[i], bs[i], a[i], az[i], pb[i], pbs[i], pa[i], paz[i])
        clean &= (b[i] == b[i]) & (bs[i] == bs[i]) & (a[i] == a[i]) & (az[i] == az[i])
    return clean


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ofi_into(bid, bid_sz, ask, ask_sz, p, out):
    """OFI over p updates: ofi_step's ring of the last p flows and its refreshes, in locals,
    the ring's slot counted (not k % p); the NaN check rides along (see spread_into)."""
    n = bid.shape[0]
    out[: min(p, n)] = NAN
    if n == 0:
        return
    ring = np.zeros(p)
    total = 0.0
    clean = (bid[0] == bid[0]) & (bid_sz[0] == bid_sz[0]) & (ask[0] == ask[0]) \
        & (ask_sz[0] == ask_sz[0])
    slot = 0  # of flow k = i - 1: k % p
    for i in range(1, n):
        b, bs, a, az = bid[i], bid_sz[i], ask[i], ask_sz[i]
        clean &= (b == b) & (bs == bs) & (a == a) & (az == az)
        e = _ofi_event(b, bs, a, az, bid[i - 1], bid_sz[i - 1], ask[i - 1], ask_sz[i - 1])
        total = _window_add(ring, 0, p, slot, e, total, i > p)
        slot = _next_slot(slot, p)
        if i >= p:
            out[i] = total
    if not clean:
        _nan_from_first(out, bid, bid_sz, ask, ask_sz)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def trade_imbalance_into(side, p, out):
    """The mean trade sign over p trades: a running sum refreshed from the window every p
    trades (as _window_add), the NaN check riding along."""
    n = side.shape[0]
    out[: min(p - 1, n)] = NAN
    total = 0.0
    clean = True
    slot = 0  # (i + 1) % p
    for i in range(n):
        v = side[i]
        clean &= v == v
        if i >= p:
            total -= side[i - p]
        slot += 1
        if slot == p:
            total = 0.0
            for j in range(i - p + 1, i + 1):
                total += side[j]
            slot = 0
        else:
            total += v
        if i >= p - 1:
            out[i] = total / p
    if not clean:
        out[first_nan(side):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def volume_imbalance_into(size, side, p, out):
    """Signed over total volume of the last p trades, as trade_imbalance_into."""
    n = size.shape[0]
    out[: min(p - 1, n)] = NAN
    signed = 0.0
    volume = 0.0
    clean = True
    slot = 0  # (i + 1) % p
    for i in range(n):
        q, d = size[i], side[i]
        clean &= (q == q) & (d == d)
        if i >= p:
            signed -= side[i - p] * size[i - p]
            volume -= size[i - p]
        slot += 1
        if slot == p:  # recompute the window's sums (as _window_add does)
            signed = 0.0
            volume = 0.0
            for j in range(i - p + 1, i + 1):
                signed += side[j] * size[j]
                volume += size[j]
            slot = 0
        else:
            signed += d * q
            volume += q
        if i >= p - 1:
            out[i] = signed / volume if volume > 0.0 else 0.0
    if not clean:
        out[min(first_nan(size), first_nan(side)):] = NAN


@nb.njit(cache=True, error_model="numpy", inline="always")
def _kyle_terms(price, size, side, j):
    """Signed volume, price change and their products for trade j >= 1."""
    q = side[j] * size[j]
    dp = price[j] - price[j - 1]
    return q, dp, q * q, q * dp


@nb.njit(cache=True, error_model="numpy", nogil=True)
def kyle_lambda_into(price, size, side, p, out):
    n = price.shape[0]
    out[: min(p, n)] = NAN
    sq = sdp = sqq = sqdp = 0.0
    clean = n == 0 or (price[0] == price[0]) & (size[0] == size[0]) & (side[0] == side[0])
    phase = 0  # (i - 1) % p, counted: a division per trade cost more than the sums
    for i in range(1, n):
        k = i - 1
        if k >= p:
            q, dp, qq, qdp = _kyle_terms(price, size, side, i - p)
            sq -= q
            sdp -= dp
            sqq -= qq
            sqdp -= qdp
        if phase == p - 1:  # recompute the window's sums (as _window_add does)
            phase = 0
            sq = sdp = sqq = sqdp = 0.0
            for j in range(i - p + 1, i + 1):
                q, dp, qq, qdp = _kyle_terms(price, size, side, j)
                sq += q
                sdp += dp
                sqq += qq
                sqdp += qdp
        else:
            phase += 1
            q, dp, qq, qdp = _kyle_terms(price, size, side, i)
            sq += q
            sdp += dp
            sqq += qq
            sqdp += qdp
        clean &= (q == q) & (dp == dp)  # a NaN in price, size or side (of trade i or i - 1)
        if k >= p - 1:
            den = p * sqq - sq * sq
            out[i] = (p * sqdp - sq * sdp) / den if den > 1e-12 * p * sqq else NAN
    if not clean:
        out[min(first_nan(price), first_nan(size), first_nan(side)):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def vpin_into(size, side, bucket, w, out):
    ring = np.zeros(w)
    filled = 0.0
    imbalance = 0.0
    total = 0.0
    done = 0
    clean = True
    value = NAN  # the output: it changes only when a bucket fills
    for i in range(size.shape[0]):
        sz, sd = size[i], side[i]
        clean &= (sz == sz) & (sd == sd)
        if 0.0 < sz < bucket - filled:  # most trades: into the open bucket (_vpin_into_open)
            filled, imbalance = _vpin_into_open(filled, imbalance, sz, sd)
        else:
            filled, imbalance, total, done = _vpin_trade(ring, 0, w, bucket, sz, sd, filled,
                                                         imbalance, total, done)
            value = total / (w * bucket) if done >= w else NAN
        out[i] = value
    if not clean:
        out[min(first_nan(size), first_nan(side)):] = NAN


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _squared_log_returns(price, out):
    """out[i] = _log_return(price[i], price[i - 1]) ** 2 for i >= 1: the series for every
    move in one vectorized pass, then _log_return itself where a move was not small."""
    a, b, o = price[1:], price[:-1], out[1:]  # views from 0: the loop vectorizes
    small = True
    for i in range(o.shape[0]):
        u = (a[i] - b[i]) / b[i]
        r = _log1p_small(u)
        o[i] = r * r
        small &= abs(u) < _SMALL_MOVE
    if not small:
        for i in range(o.shape[0]):
            if not abs((a[i] - b[i]) / b[i]) < _SMALL_MOVE:
                r = _log_return(a[i], b[i])
                o[i] = r * r


@nb.njit(cache=True, error_model="numpy", nogil=True)
def realized_vol_into(ts, price, interval, out):
    """sqrt of the summed squared log returns within each interval so far; the interval's end
    is kept, so ts // interval (an integer division) runs once per interval, not per trade."""
    n = ts.shape[0]
    if n == 0:
        return
    _squared_log_returns(price, out)
    end = np.int64(0)
    ss = 0.0
    for i in range(n):
        t = ts[i]
        if i == 0 or t >= end:
            end = (t // interval + 1) * interval
            ss = 0.0
        else:
            ss += out[i]
        out[i] = np.sqrt(ss)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ofi_time_into(ts, bid, bid_sz, ask, ask_sz, window, out, e):
    """OFI in (ts - window, ts]: a running sum over the flows (put in ``e``, n long),
    recomputed from the window once as many flows have left it as it holds (amortized O(1)).

    The flows entering (at i) and leaving (at j) the window are taken as one merged sequence,
    one move per step chosen by a select, not a branch: how many leave at each update varies
    at random, and an inner ``while`` mispredicted about once per update (22 -> 10 ns/update
    for the window's part here). ``out[i - 1]`` is written at every step and is final when
    update i enters, after all that left before it."""
    clean = _ofi_flows(bid, bid_sz, ask, ask_sz, e)
    n = ts.shape[0]
    if n == 0:
        return
    total = e[0]
    i, j, left = 1, 0, 0
    while i < n:
        leave = ts[j] <= ts[i - 1] - window  # j < i - 1 whenever this holds (window >= 1)
        out[i - 1] = total
        gone, new = e[j], e[i]  # both loaded, then selected: a load under the condition
        total += -gone if leave else new  # compiled to a branch (19 ns instead of 10)
        j += leave
        i += not leave
        left += leave
        if left > i - j + 64:
            total = _sum(e, j, i)
            left = 0
    while ts[j] <= ts[n - 1] - window:
        total -= e[j]
        j += 1
    out[n - 1] = total
    if not clean:
        _nan_from_first(out, bid, bid_sz, ask, ask_sz)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ring_values_sum(s, values, head, size, cap):
    """The sum of the ``size`` live values of the ring at s[values:] from ``head``, in order."""
    total = 0.0
    for j in range(size):
        total += s[values + _wrap(head + j, cap)]
    return total


@nb.njit(cache=True, error_model="numpy", inline="always")
def _sum(v, lo, hi):
    total = 0.0
    for k in range(lo, hi):
        total += v[k]
    return total


@nb.njit(cache=True, error_model="numpy", nogil=True)
def vwap_time_into(ts, price, volume, window, out):
    """VWAP in (ts - window, ts]: running sums of notional and volume, the trades entering and
    leaving the window merged as in ofi_time_into."""
    n = ts.shape[0]
    if n == 0:
        return
    notional = price[0] * volume[0]
    vol = volume[0]
    clean = notional == notional
    i, j, left = 1, 0, 0
    while i < n:
        leave = ts[j] <= ts[i - 1] - window
        out[i - 1] = notional / vol if vol != 0.0 else NAN
        k = j if leave else i
        sign = -1.0 if leave else 1.0
        px, v = price[k], volume[k]
        clean &= (px == px) & (v == v)  # each trade is seen entering
        notional += sign * (px * v)
        vol += sign * v
        j += leave
        i += not leave
        left += leave
        if left > i - j + 64:
            notional = 0.0
            vol = 0.0
            for k in range(j, i):
                notional += price[k] * volume[k]
                vol += volume[k]
            left = 0
    while ts[j] <= ts[n - 1] - window:
        notional -= price[j] * volume[j]
        vol -= volume[j]
        j += 1
    out[n - 1] = notional / vol if vol != 0.0 else NAN
    if not clean:
        out[min(first_nan(price), first_nan(volume)):] = NAN
