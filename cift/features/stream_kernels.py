"""Numba step functions of the streaming features: one new value in, the feature's value out.

Each ``*_step(s, ...)`` advances a feature by one input; all of its state lives in the float64
array ``s`` (counters, sums, ring buffers of the window), so a stream is snapshotted by copying
that array and restored by copying it back. Each step repeats, operation for operation, the
arithmetic of its batch kernel in :mod:`cift.features.kernels` (same summation order, same
seeding, same guards), so a stream gives the batch values -- the property tests check it.
``*_many`` runs a step over arrays inside one compiled loop. Steps compile without Numba's
reference counting (``_nrt=False``: they allocate nothing), so the entry that ``update`` calls
takes the state array as it is instead of wrapping it in a counted reference on every call
(60-110 of about 300 ns per call here); inlined into a ``*_many``, a step takes its flags.
The ``*_many`` loops release the GIL, so that their large outputs are mapped meanwhile
(:mod:`cift.features.prefault`); the steps keep it (releasing it costs ~45 ns a call).

Every state starts with ``[count, dead]``: ``count`` is the number of inputs seen, ``dead``
is set by the first NaN input, after which every output is NaN (the batch NaN policy).
States are built by :mod:`cift.features.stream`, which knows each layout's size.

Like kernels.py, this module imports nothing of cift but the kernels' own helpers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from cift.features.kernels import (CCI_MATH, _bar_has_nan, _directional, _true_range,
                                  cci_ring_sum, cci_running, cci_value, mfi_flows, mfi_quiet,
                                  mfi_value)
from cift.features.ma_kernels import MA_MATH, ma_next, ma_size, mama_next

NAN = np.nan
H = 2  # header: count, dead


@nb.njit(cache=True, error_model="numpy", inline="always")
def _advance(s, o, bad):
    """Count one input of the state at offset o; True if that stream is dead (this input or
    an earlier one was NaN), and the count before this input. A NaN before the first input
    counted is skipped, neither counted nor fatal: the series starts at its first value, as
    the batch functions start theirs (bulk loops never see such a NaN: Stream.update_many
    strips a leading run before it calls them)."""
    if bad and s[o] == 0.0:
        return True, 0
    dead = bad or s[o + 1] != 0.0  # read before the store: no reload through memory
    if bad:
        s[o + 1] = 1.0
    n = s[o]
    s[o] = n + 1.0  # counted in floats: an int round trip would sit on the loop's critical path
    return dead, int(n)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _count_in(dead, bad, count):
    """_advance for a bulk loop that keeps count and flag in locals: (dead, the count before
    this input, the new count)."""
    return dead | bad, count, count + 1.0


# --- moving averages ------------------------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", inline="always")
def _sma(s, o, x):
    """SMA at offset o: [count, dead, p, total, ring(p)]"""
    dead, n = _advance(s, o, x != x)
    if dead:
        return NAN
    p = int(s[o + 2])
    total = s[o + 3] + x  # the sum in a local: one store to the state per step, not two
    slot = n % p
    s[o + 4 + slot] = x
    if n < p - 1:
        s[o + 3] = total
        return NAN
    if slot == p - 1:
        total = _ring_sum(s, o + 4, p)
    s[o + 3] = total - s[o + 4 + _next_slot(slot, p)]  # the oldest of the window leaves
    return total / p


@nb.njit(cache=True, error_model="numpy", inline="always")
def _next_slot(slot, p):
    """A ring's next slot, counted: n % p on every value was an integer division."""
    return slot + 1 if slot < p - 1 else 0


@nb.njit(cache=True, error_model="numpy", inline="always")
def _next_slot_u(slot, last):
    """_next_slot of an unsigned slot (``last``: the ring's last slot, unsigned too)."""
    return slot + np.uint64(1) if slot < last else np.uint64(0)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ring_sum(s, at, p):
    """The sum of a full ring, taken afresh once a turn so a running sum never drifts."""
    start = np.uint64(at)  # unsigned: no negative-index checks
    total = 0.0
    for j in range(np.uint64(p)):
        total += s[start + j]
    return total


@nb.njit(cache=True, error_model="numpy", inline="always")
def _sma_run(s, o, x, out, skip_nan, mirror):
    """_sma over the array x into out, the state's count, flag and sum held in locals for the
    run (through memory they would chain every step to the last one's store). With
    ``skip_nan``, a NaN is not fed (out NaN), as stoch feeds its smoothing only values; with
    ``mirror``, each NaN out also goes back into x (stoch's %K is NaN wherever %D is: here,
    not in a pass of its own)."""
    count = s[o]
    dead = s[o + 1] != 0.0
    p = int(s[o + 2])
    total = s[o + 3]
    u = np.uint64  # the ring's indices, known to be >= 0: no negative-index checks
    ring, last = u(o + 4), u(p - 1)
    slot = u(int(count) % p)  # then counted: n % p per value was an integer division
    for i in range(x.shape[0]):
        v = x[i]
        if v != v:
            if skip_nan:
                out[i] = NAN
                continue
            dead = True
        n = count
        count += 1.0
        if dead:
            out[i] = NAN
            if mirror:
                x[i] = NAN
            continue
        total += v
        s[ring + slot] = v
        after = _next_slot_u(slot, last)
        if n < p - 1:
            out[i] = NAN
            if mirror:
                x[i] = NAN
            slot = after
            continue
        if slot == last:
            total = _ring_sum(s, ring, p)
        out[i] = total / p
        total -= s[ring + after]  # the oldest of the window leaves
        slot = after
    s[o] = count
    s[o + 1] = 1.0 if dead else 0.0
    s[o + 3] = total


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def sma_step(s, x):
    return _sma(s, 0, x)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def ema_step(s, x):
    """[count, dead, p, total, ema]"""
    dead, n = _advance(s, 0, x != x)
    if dead:
        return NAN
    p = int(s[2])
    if n < p:
        s[3] += x
        if n < p - 1:
            return NAN
        s[4] = s[3] / p
        return s[4]
    k = 2.0 / (p + 1)
    s[4] = s[4] * (1.0 - k) + x * k
    return s[4]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def wma_step(s, x):
    """[count, dead, weighted, plain, ring(p)]"""
    dead, n = _advance(s, 0, x != x)
    if dead:
        return NAN
    p = s.shape[0] - 4
    slot = n % p
    s[4 + slot] = x
    if n < p - 1:
        s[2] += (n + 1) * x
        s[3] += x
        return NAN
    if slot == p - 1:  # the ring holds the window in order: its sums afresh (no drift)
        weighted = 0.0
        plain = 0.0
        for j in range(p):
            weighted += (j + 1) * s[4 + j]
            plain += s[4 + j]
        s[2] = weighted
        s[3] = plain
    else:
        s[2] += p * x
        s[3] += x
    out = s[2] / (p * (p + 1) / 2.0)
    s[2] -= s[3]
    s[3] -= s[4 + _next_slot(slot, p)]
    return out


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def ma_step(s, x):
    """[count, dead, MA state (ma_kernels)]: ma, dema, tema, trima, kama and t3."""
    dead, _ = _advance(s, 0, x != x)
    if dead:
        return NAN
    return ma_next(s, 2, x)


@nb.njit(cache=True, error_model="numpy", fastmath=MA_MATH, inline="always", _nrt=False)
def mama_step(s, x):
    """[count, dead, MAMA state (ma_kernels)] -> (mama, fama)"""
    dead, _ = _advance(s, 0, x != x)
    if dead:
        return NAN, NAN
    return mama_next(s, 2, x)


# --- variance and what stands on it ---------------------------------------------------------

_V = 6  # var header: count, dead, p, shift, prefix sums of x - shift and of its squares


@nb.njit(cache=True, error_model="numpy", inline="always")
def range_size(p):
    """Floats in a range-position state of window p. Inlined, as everything a step calls: a
    call from a step's entry into another compiled function cost 80-140 ns (stoch's update)."""
    return 5 + 2 * (p + 1) + 2 * p


@nb.njit(cache=True, error_model="numpy", inline="always")
def var_size(p):
    """Floats in a variance state of window p: header, two suffix-sum buffers, the ring."""
    return _V + 2 * (p + 1) + p


@nb.njit(cache=True, error_model="numpy", inline="always")
def _var(s, o, x, root, scale):
    """(window mean, variance or standard deviation): kernels._moving_variance one value at
    a time, state at offset o: [count, dead, p, shift, t1, t2, suffix1(p+1),
    suffix2(p+1), ring(p)] (see _var_next)."""
    dead, n = _advance(s, o, x != x)
    if dead:
        return NAN, NAN
    p = int(s[o + 2])
    mean, v, s[o + 3], s[o + 4], s[o + 5] = _var_next(s, o, p, x, n, n % p,
                                                      s[o + 3], s[o + 4], s[o + 5])
    return mean, (np.sqrt(v) * scale if root else v)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _var_next(s, o, p, x, n, slot, shift, t1, t2):
    """The n-th value x into a variance state at o (slot = n % p; the state's shift and block
    sums t1, t2 passed in and returned, so a bulk loop keeps them in locals): (window mean,
    variance, NaN in the warm-up; shift, t1, t2). Blocks of p values start at counts that are
    multiples of p, so a block sits in the ring in order; when the next block starts, the
    finished one's suffix sums are taken against the new shift, exactly as the batch kernel
    does (the same operations in the same order: the same values)."""
    suffix1 = o + _V
    suffix2 = suffix1 + p + 1
    ring = suffix2 + p + 1
    if slot == 0:  # a block starts: x is its shift
        shift = x
        if n > 0:
            a1 = 0.0
            a2 = 0.0
            for j in range(p - 1, -1, -1):
                d = s[ring + j] - x
                a1 += d
                a2 += d * d
                s[suffix1 + j] = a1
                s[suffix2 + j] = a2
        t1 = 0.0
        t2 = 0.0
    s[ring + slot] = x
    d = x - shift
    t1 += d
    t2 += d * d
    if n < p - 1:
        return NAN, NAN, shift, t1, t2
    inv_p = 1.0 / p
    w1 = s[suffix1 + slot + 1] + t1
    m2 = (s[suffix2 + slot + 1] + t2) - w1 * w1 * inv_p
    return shift + w1 * inv_p, (m2 * inv_p if m2 > 0.0 else 0.0), shift, t1, t2


@nb.njit(cache=True, error_model="numpy", inline="always")
def _var_run(s, o, x, means, out, kind, scale):
    """_var over the array x: window means into ``means`` and into ``out`` by ``kind`` the
    variance (0), standard deviation times scale (1) or z-score of x (2, as zscore_step); the
    state's scalars in locals and the slot counted for the run, the same operations in the
    same order. ``means`` may be ``out`` itself when only ``out`` is wanted (the mean is
    written first)."""
    count, dead, p = s[o], s[o + 1] != 0.0, int(s[o + 2])
    shift, t1, t2 = s[o + 3], s[o + 4], s[o + 5]
    slot = int(count) % p
    for i in range(x.shape[0]):
        v = x[i]
        dead, n, count = _count_in(dead, v != v, count)
        if dead:
            means[i] = NAN
            out[i] = NAN
            continue
        mean, var, shift, t1, t2 = _var_next(s, o, p, v, n, slot, shift, t1, t2)
        slot = _next_slot(slot, p)
        means[i] = mean
        if kind == 0:
            out[i] = var
        elif kind == 1:
            out[i] = np.sqrt(var) * scale
        else:
            sd = np.sqrt(var)
            out[i] = (v - mean) / sd if sd > 0.0 else (0.0 if sd == 0.0 else sd)
    s[o], s[o + 1] = count, 1.0 if dead else 0.0
    s[o + 3], s[o + 4], s[o + 5] = shift, t1, t2


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def var_step(s, x):
    return _var(s, 0, x, False, 1.0)[1]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def stddev_step(s, x):
    """[nbdev, var state]"""
    return _var(s, 1, x, True, s[0])[1]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def bbands_step(s, x):
    """[up, dn, var state(, MA state)] -> (upper, middle, lower); the MA state (ma_kernels)
    when the average is not the SMA, the variance state's mean."""
    middle, sd = _var(s, 2, x, True, 1.0)
    end = 2 + var_size(int(s[4]))
    if s.shape[0] > end:  # fed only what the variance counted, alive; from the deviation's
        # first value on (MAMA's 32 may come before it)
        middle = ma_next(s, end, x) if x == x and s[3] == 0.0 else NAN
        middle = middle if sd == sd else NAN
    return middle + s[0] * sd, middle, middle - s[1] * sd


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def zscore_step(s, x):
    """[var state]"""
    mean, var = _var(s, 0, x, False, 1.0)
    sd = np.sqrt(var)
    return (x - mean) / sd if sd > 0.0 else (0.0 if sd == 0.0 else sd)


# --- oscillators ----------------------------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def rsi_step(s, x):
    """[count, dead, p, prev, gain, loss]"""
    dead, n = _advance(s, 0, x != x)
    if dead:
        return NAN
    p = int(s[2])
    d = x - s[3]
    s[3] = x
    if n == 0:
        return NAN
    if n <= p:
        if d < 0:
            s[5] -= d
        else:
            s[4] += d
        if n < p:
            return NAN
        s[4] /= p
        s[5] /= p
    else:
        keep = (p - 1) / p
        add = 1.0 / p
        s[4] = s[4] * keep + max(d, 0.0) * add
        s[5] = s[5] * keep + max(-d, 0.0) * add
    total = s[4] + s[5]
    return 0.0 if total == 0.0 else 100.0 * (s[4] / total)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def macd_step(s, x):
    """[count, dead, fast, slow, signal, ema_f, ema_s, ema_g, seed, ring(slow)]
    -> (macd, signal, hist); fast <= slow (the stream swaps them as TA-Lib does)."""
    dead, n = _advance(s, 0, x != x)
    if dead:
        return NAN, NAN, NAN
    line, sig, hist, s[5], s[6], s[7], s[8] = _macd_next(
        s, int(s[2]), int(s[3]), int(s[4]), x, n, s[5], s[6], s[7], s[8])
    return line, sig, hist


@nb.njit(cache=True, error_model="numpy", inline="always")
def _macd_next(s, fast, slow, signal, x, n, ema_f, ema_s, ema_g, seed):
    """The n-th value into a MACD state (its periods and averages passed in, the averages
    returned, so a bulk loop keeps them in locals): (macd, signal, hist, NaN in the warm-up;
    ema_f, ema_s, ema_g, seed). The first slow values wait in the ring; the averages start
    from their SMAs."""
    start = slow - 1
    first = start + signal - 1
    if n < start:
        s[9 + n] = x
        return NAN, NAN, NAN, ema_f, ema_s, ema_g, seed
    if n == start:
        s[9 + n] = x
        f_total = 0.0
        s_total = 0.0
        for i in range(slow):
            s_total += s[9 + i]
            if i > start - fast:
                f_total += s[9 + i]
        ema_f = f_total / fast
        ema_s = s_total / slow
        seed = ema_f - ema_s
    else:
        kf, ks = 2.0 / (fast + 1), 2.0 / (slow + 1)
        ema_f = ema_f * (1.0 - kf) + x * kf
        ema_s = ema_s * (1.0 - ks) + x * ks
        if n <= first:
            seed += ema_f - ema_s
    if n < first:
        return NAN, NAN, NAN, ema_f, ema_s, ema_g, seed
    m = ema_f - ema_s
    if n == first:
        ema_g = seed / signal
    else:
        kg = 2.0 / (signal + 1)
        ema_g = ema_g * (1.0 - kg) + m * kg
    return m, ema_g, m - ema_g, ema_f, ema_s, ema_g, seed


@nb.njit(cache=True, error_model="numpy", inline="always")
def _suffix_extremes(s, highs, hi_at, lows, lo_at, suffix_hi, suffix_lo, p):
    """When a block of p bars completes: its suffix highs and lows into the state, from the
    block's bars at highs[hi_at:hi_at+p] and lows[lo_at:lo_at+p] (the state's rings, or the
    arrays of a bulk loop)."""
    top = -np.inf
    bottom = np.inf
    for j in range(p - 1, -1, -1):
        v = highs[hi_at + j]
        top = v if v > top else top
        s[suffix_hi + j] = top
        v = lows[lo_at + j]
        bottom = v if v < bottom else bottom
        s[suffix_lo + j] = bottom


@nb.njit(cache=True, error_model="numpy", inline="always")
def _range_layout(s, o):
    """(p, and where the suffix highs, suffix lows, ring of highs and ring of lows start) of
    the range state at o."""
    p = int(s[o + 2])
    suffix_hi = o + 5
    suffix_lo = suffix_hi + p + 1
    highs = suffix_lo + p + 1
    return p, suffix_hi, suffix_lo, highs, highs + p


@nb.njit(cache=True, error_model="numpy", inline="always")
def _range(s, o, h, lo, c, from_high):
    """kernels._range_position at offset o, with its block extremes: [count, dead, p, top,
    bottom, suffix_hi(p+1), suffix_lo(p+1), ring_h(p), ring_l(p)] (suffix [p] are -inf/+inf
    sentinels). When a block of p bars completes, its suffix extremes come from the ring."""
    dead, n = _advance(s, o, _bar_has_nan(h, lo, c))
    if dead:
        return NAN
    p, suffix_hi, suffix_lo, highs, lows = _range_layout(s, o)
    slot = n % p
    if slot == 0:
        if n > 0:
            _suffix_extremes(s, s, highs, s, lows, suffix_hi, suffix_lo, p)
        s[o + 3] = -np.inf
        s[o + 4] = np.inf
    s[highs + slot] = h
    s[lows + slot] = lo
    top = s[o + 3]
    top = h if h > top else top
    s[o + 3] = top
    bottom = s[o + 4]
    bottom = lo if lo < bottom else bottom
    s[o + 4] = bottom
    if n < p - 1:
        return NAN
    v = s[suffix_hi + slot + 1]
    hi_v = v if v > top else top
    v = s[suffix_lo + slot + 1]
    lo_v = v if v < bottom else bottom
    return _range_value(hi_v, lo_v, c, -0.01 if from_high else 0.01, from_high)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _range_steps(s, o, h, lo, c, from_high, out, start, end, to_block):
    """_range over the arrays' [start, end) into out, count, flag and the block's extremes in
    locals for the run (as _sma_run); with ``to_block``, stop early at a block's first bar
    with a whole block of bars left (for _range_blocks). Returns where it stopped."""
    count = s[o]
    dead = s[o + 1] != 0.0
    p, suffix_hi, suffix_lo, highs, lows = _range_layout(s, o)
    top = s[o + 3]
    bottom = s[o + 4]
    per_percent = -0.01 if from_high else 0.01
    slot = int(count) % p  # then counted
    i = start
    while i < end:
        if to_block and slot == 0 and not dead and end - i >= p:
            break
        hi, low, close = h[i], lo[i], c[i]
        dead, n, count = _count_in(dead, _bar_has_nan(hi, low, close), count)
        if dead:
            out[i] = NAN
            i += 1
            continue
        if slot == 0:
            if n > 0:
                _suffix_extremes(s, s, highs, s, lows, suffix_hi, suffix_lo, p)
            top = -np.inf
            bottom = np.inf
        s[highs + slot] = hi
        s[lows + slot] = low
        top = hi if hi > top else top
        bottom = low if low < bottom else bottom
        v = s[suffix_hi + slot + 1]
        hi_v = v if v > top else top
        v = s[suffix_lo + slot + 1]
        lo_v = v if v < bottom else bottom
        slot = _next_slot(slot, p)
        out[i] = NAN if n < p - 1 else _range_value(hi_v, lo_v, close, per_percent, from_high)
        i += 1
    s[o] = count
    s[o + 1] = 1.0 if dead else 0.0
    s[o + 3] = top
    s[o + 4] = bottom
    return i


@nb.njit(cache=True, error_model="numpy", inline="always")
def _range_value(hi_v, lo_v, close, per_percent, from_high):
    """Where close sits in [lo_v, hi_v], in percent (per_percent: -0.01 from the high, 0.01
    from the low); 0 for an empty range."""
    diff = (hi_v - lo_v) * per_percent
    num = hi_v - close if from_high else close - lo_v
    return num / diff if diff != 0.0 else 0.0


@nb.njit(cache=True, error_model="numpy", inline="always")
def _range_blocks(s, o, h, lo, c, from_high, out, start):
    """_range over whole blocks of p bars from ``start`` (a block's first bar), as the batch
    kernel runs them: bars read from the arrays, not the state's rings, which are written
    once at the end (the last block's bars, where the steps would have left them); the
    values and the state are the steps'. Returns where the blocks ended."""
    count = s[o]
    p, suffix_hi, suffix_lo, highs, lows = _range_layout(s, o)
    top = s[o + 3]
    bottom = s[o + 4]
    per_percent = -0.01 if from_high else 0.01
    n_all = c.shape[0]
    u = np.uint64  # indices known to be >= 0: no negative-index checks
    b = start
    dead_at = -1  # the first bar with a NaN
    while n_all - b >= p:
        if _bar_has_nan(h[b], lo[b], c[b]):  # before the block starts: as the steps, which
            dead_at = b  # skip a dead bar's block start (suffixes, extremes) too
            break
        if count > 0.0:  # the block before's suffix extremes: in the ring, or the arrays
            if b == start:
                _suffix_extremes(s, s, highs, s, lows, suffix_hi, suffix_lo, p)
            else:
                _suffix_extremes(s, h, b - p, lo, b - p, suffix_hi, suffix_lo, p)
        top = -np.inf
        bottom = np.inf
        for q in range(p):
            k = u(b + q)
            hi, low, close = h[k], lo[k], c[k]
            if _bar_has_nan(hi, low, close):
                dead_at = b + q
                break
            n = count
            count += 1.0
            top = hi if hi > top else top
            bottom = low if low < bottom else bottom
            v = s[u(suffix_hi + q + 1)]
            hi_v = v if v > top else top
            v = s[u(suffix_lo + q + 1)]
            lo_v = v if v < bottom else bottom
            out[k] = NAN if n < p - 1 else _range_value(hi_v, lo_v, close, per_percent,
                                                          from_high)
        if dead_at >= 0:
            break
        b += p
    # the rings as the steps leave them: the last whole block's bars, then this block's up
    # to a NaN
    if b > start:
        s[highs:highs + p] = h[b - p:b]
        s[lows:lows + p] = lo[b - p:b]
    if dead_at >= 0:  # dead from here: the rest are NaN, and counted
        s[highs:highs + dead_at - b] = h[b:dead_at]
        s[lows:lows + dead_at - b] = lo[b:dead_at]
        out[dead_at:] = NAN
        count += n_all - dead_at
        s[o + 1] = 1.0
        b = n_all
    s[o] = count
    s[o + 3] = top
    s[o + 4] = bottom
    return b


@nb.njit(cache=True, error_model="numpy", inline="always")
def _range_run(s, o, h, lo, c, from_high, out):
    """_range over the arrays into out: steps up to a block's start, whole blocks as the batch
    kernel runs them, then steps for the bars after the last whole block."""
    n_all = c.shape[0]
    i = _range_steps(s, o, h, lo, c, from_high, out, 0, n_all, True)
    if i < n_all:
        i = _range_blocks(s, o, h, lo, c, from_high, out, i)
    _range_steps(s, o, h, lo, c, from_high, out, i, n_all, False)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def willr_step(s, h, lo, c):
    return _range(s, 0, h, lo, c, True)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def stoch_step(s, h, lo, c):
    """[range state, sma state(slowk), sma state(slowd)] -> (slowk, slowd); with other
    moving averages than the SMA, [range state, -1, MA state(slowk), MA state(slowd)]."""
    at_k = range_size(int(s[2]))
    fastk = _range(s, 0, h, lo, c, False)
    if fastk != fastk:  # warming up, or dead (the range state keeps the NaN flag)
        return NAN, NAN
    if s[at_k] < 0.0:  # (an SMA state starts with its count)
        at_k += 1
        slowk = ma_next(s, at_k, fastk)
        if slowk != slowk:
            return NAN, NAN
        slowd = ma_next(s, at_k + ma_size(int(s[at_k + 1]), int(s[at_k])), slowk)
        if slowd != slowd:
            return NAN, NAN
        return slowk, slowd
    at_d = at_k + 4 + int(s[at_k + 2])
    slowk = _sma(s, at_k, fastk)
    if slowk != slowk:
        return NAN, NAN
    slowd = _sma(s, at_d, slowk)
    if slowd != slowd:
        return NAN, NAN
    return slowk, slowd


@nb.njit(cache=True, error_model="numpy", fastmath=CCI_MATH, inline="always", _nrt=False)
def cci_step(s, h, lo, c):
    """[count, dead, ring_tp(2p)]: kernels.cci_into's ring, written twice."""
    dead, n = _advance(s, 0, _bar_has_nan(h, lo, c))
    if dead:
        return NAN
    p = (s.shape[0] - 2) // 2
    tp = (h + lo + c) / 3.0
    slot = n % p
    s[2 + slot] = tp
    s[2 + slot + p] = tp
    if n < p - 1:
        return NAN
    return cci_value(s, 3 + slot, p, tp)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def mfi_step(s, h, lo, c, v):
    """[count, dead, pos_sum, neg_sum, prev_tp, still, ring_pos(p), ring_neg(p)]"""
    dead, n = _advance(s, 0, _bar_has_nan(h, lo, c) | (v != v))
    if dead:
        return NAN
    p = (s.shape[0] - 6) // 2
    value, s[2], s[3], s[4], s[5] = _mfi_next(s, p, h, lo, c, v, n, n % p, s[2], s[3], s[4],
                                              s[5])
    return value


@nb.njit(cache=True, error_model="numpy", inline="always")
def _mfi_next(s, p, h, lo, c, v, n, slot, pos_sum, neg_sum, prev, still):
    """The n-th bar into an MFI state (slot = n % p; its sums, last typical price and run of
    bars without flow passed in and returned, so a bulk loop keeps them in locals): (the MFI,
    NaN in the warm-up; pos_sum, neg_sum, prev, still). kernels.mfi_into's arithmetic."""
    tp = (h + lo + c) / 3.0
    if n == 0:
        return NAN, pos_sum, neg_sum, tp, still
    pos = 6 + slot
    neg = pos + p
    pos_sum -= s[pos]
    neg_sum -= s[neg]
    up, down, flow = mfi_flows(tp, prev, v)
    s[pos] = up
    s[neg] = down
    pos_sum += up
    neg_sum += down
    still, quiet = mfi_quiet(still, flow, p)
    if quiet:
        pos_sum = 0.0
        neg_sum = 0.0
    if n < p:
        return NAN, pos_sum, neg_sum, tp, still
    return mfi_value(pos_sum, neg_sum), pos_sum, neg_sum, tp, still


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def trange_step(s, h, lo, c):
    """[count, dead, prev_close]"""
    dead, n = _advance(s, 0, _bar_has_nan(h, lo, c))
    prev, s[2] = s[2], c
    if dead or n == 0:
        return NAN
    return _true_range(h, lo, prev)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def atr_step(s, h, lo, c):
    """[count, dead, p, prev_close, total, atr]"""
    dead, n = _advance(s, 0, _bar_has_nan(h, lo, c))
    if dead:
        return NAN
    p = int(s[2])
    prev, s[3] = s[3], c
    if n == 0:
        return NAN
    tr = _true_range(h, lo, prev)
    if n <= p:
        s[4] += tr
        if n < p:
            return NAN
        s[5] = s[4] / p
    else:
        s[5] = s[5] * ((p - 1) / p) + tr * (1.0 / p)
    return s[5]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def natr_step(s, h, lo, c):
    a = atr_step(s, h, lo, c)
    if a != a:
        return NAN
    return 0.0 if c == 0.0 else a / c * 100.0


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def adx_step(s, h, lo, c):
    """[count, dead, p, plus, minus, tr, adx, prev_h, prev_l, prev_c]"""
    dead, n = _advance(s, 0, _bar_has_nan(h, lo, c))
    if dead:
        return NAN
    value, s[3], s[4], s[5], s[6] = _adx_next(int(s[2]), h, lo, c, n, s[3], s[4], s[5], s[6],
                                              s[7], s[8], s[9])
    s[7], s[8], s[9] = h, lo, c
    return value


@nb.njit(cache=True, error_model="numpy", inline="always")
def _adx_next(p, h, lo, c, n, plus, minus, tr_sum, adx, ph, pl, pc):
    """The n-th bar into an ADX state (its sums and the bar before passed in, the sums
    returned, so a bulk loop keeps them in locals): (the ADX, NaN in the warm-up; plus,
    minus, tr_sum, adx)."""
    if n == 0:
        return NAN, plus, minus, tr_sum, adx
    dp, dm = _directional(h, lo, ph, pl)
    tr = _true_range(h, lo, pc)
    if n < p:
        return NAN, plus + dp, minus + dm, tr_sum + tr, adx
    keep = (p - 1) / p
    plus = plus * keep + dp
    minus = minus * keep + dm
    tr_sum = tr_sum * keep + tr
    dx = NAN
    if tr_sum != 0.0:
        plus_di = 100.0 * (plus / tr_sum)
        minus_di = 100.0 * (minus / tr_sum)
        total = plus_di + minus_di
        if total != 0.0:
            dx = 100.0 * (abs(minus_di - plus_di) / total)
    first = 2 * p - 1
    if n <= first:
        if dx == dx:
            adx += dx
        if n < first:
            return NAN, plus, minus, tr_sum, adx
        adx /= p
    elif dx == dx:
        adx = adx * keep + dx * (1.0 / p)
    return adx, plus, minus, tr_sum, adx


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def roc_step(s, x):
    """[count, dead, ring(p)]"""
    dead, n = _advance(s, 0, x != x)
    if dead:
        return NAN
    p = s.shape[0] - 2
    prev = s[2 + n % p]
    s[2 + n % p] = x
    if n < p:
        return NAN
    return (x / prev - 1.0) * 100.0 if prev != 0.0 else 0.0


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def logret_step(s, x):
    """[count, dead, prev]"""
    dead, n = _advance(s, 0, x != x)
    prev, s[2] = s[2], x
    if dead or n == 0:
        return NAN
    return np.log(x / prev)


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def obv_step(s, c, v):
    """[count, dead, total, prev_close]"""
    dead, n = _advance(s, 0, (c != c) | (v != v))
    if dead:
        return NAN
    if n == 0:
        s[2] = v
    elif c > s[3]:
        s[2] += v
    elif c < s[3]:
        s[2] -= v
    s[3] = c
    return s[2]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def vwap_step(s, h, lo, c, v):
    """[count, dead, notional (of high + low + close), volume, last]: kernels.vwap_into's
    sums, one bar at a time"""
    dead, _ = _advance(s, 0, (h != h) | (lo != lo) | (c != c) | (v != v))
    if dead:
        return NAN
    if (h - h) + (lo - lo) + (c - c) + (v - v) == 0.0:  # all finite
        s[2] += (h + lo + c) * v
        s[3] += v
    if s[3] > 0.0:
        s[4] = s[2] / (3.0 * s[3])
    return s[4]


@nb.njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def rolling_vwap_step(s, price, volume):
    """[count, dead, notional, volume, ring_price(p), ring_volume(p)]"""
    dead, n = _advance(s, 0, (price != price) | (volume != volume))
    if dead:
        return NAN
    p = (s.shape[0] - 4) // 2
    slot = n % p
    s[4 + slot] = price
    s[4 + p + slot] = volume
    s[2] += price * volume
    s[3] += volume
    if n < p - 1:
        return NAN
    out = s[2] / s[3] if s[3] != 0.0 else NAN
    j = slot + 1 if slot + 1 < p else 0
    s[2] -= s[4 + j] * s[4 + p + j]
    s[3] -= s[4 + p + j]
    return out


# --- bulk drivers: one compiled loop per step (a step passed as an argument would not cache) --

@nb.njit(cache=True, error_model="numpy", nogil=True)
def sma_many(s, x, out):
    _sma_run(s, 0, x, out, False, False)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ema_many(s, x, out):
    for i in range(x.shape[0]):
        out[i] = ema_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def wma_many(s, x, out):
    for i in range(x.shape[0]):
        out[i] = wma_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ma_many(s, x, out):
    for i in range(x.shape[0]):
        out[i] = ma_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", fastmath=MA_MATH, nogil=True)
def mama_many(s, x, mama, fama):
    for i in range(x.shape[0]):
        mama[i], fama[i] = mama_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def var_many(s, x, out):
    _var_run(s, 0, x, out, out, 0, 1.0)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def stddev_many(s, x, out):
    _var_run(s, 1, x, out, out, 1, s[0])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def bbands_many(s, x, upper, middle, lower):
    if s.shape[0] > 2 + var_size(int(s[4])):  # around another average than the SMA
        for i in range(x.shape[0]):
            upper[i], middle[i], lower[i] = bbands_step(s, x[i])
        return
    _var_run(s, 2, x, middle, lower, 1, 1.0)  # the deviations, then the bands from them
    up, dn = s[0], s[1]
    for i in range(x.shape[0]):
        sd = lower[i]
        upper[i] = middle[i] + up * sd
        lower[i] = middle[i] - dn * sd


@nb.njit(cache=True, error_model="numpy", nogil=True)
def zscore_many(s, x, out):
    _var_run(s, 0, x, out, out, 2, 1.0)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def rsi_many(s, x, out):
    for i in range(x.shape[0]):
        out[i] = rsi_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def macd_many(s, x, line, sig, hist):
    """macd_step over the array, the three averages, count and flag in locals for the run
    (through the state array each step chained on the last one's stores)."""
    count, dead = s[0], s[1] != 0.0
    fast, slow, signal = int(s[2]), int(s[3]), int(s[4])
    ema_f, ema_s, ema_g, seed = s[5], s[6], s[7], s[8]
    for i in range(x.shape[0]):
        v = x[i]
        dead, n, count = _count_in(dead, v != v, count)
        n = int(n)
        if dead:
            line[i] = sig[i] = hist[i] = NAN
            continue
        line[i], sig[i], hist[i], ema_f, ema_s, ema_g, seed = _macd_next(
            s, fast, slow, signal, v, n, ema_f, ema_s, ema_g, seed)
    s[0], s[1] = count, 1.0 if dead else 0.0
    s[5], s[6], s[7], s[8] = ema_f, ema_s, ema_g, seed


@nb.njit(cache=True, error_model="numpy", nogil=True)
def willr_many(s, h, lo, c, out):
    _range_run(s, 0, h, lo, c, True, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def stoch_many(s, h, lo, c, slowk, slowd):
    """stoch_step over the arrays, one state at a time (fast %K into slowd, its SMA into
    slowk, that one's SMA into slowd): each pass keeps one state's fields in flight instead of
    three, the same operations in the same order per state. Other averages than the SMA
    step by step."""
    at_k = range_size(int(s[2]))
    if s[at_k] < 0.0:
        for i in range(c.shape[0]):
            slowk[i], slowd[i] = stoch_step(s, h[i], lo[i], c[i])
        return
    at_d = at_k + 4 + int(s[at_k + 2])
    _range_run(s, 0, h, lo, c, False, slowd)
    _sma_run(s, at_k, slowd, slowk, True, False)
    _sma_run(s, at_d, slowk, slowd, True, True)


@nb.njit(cache=True, error_model="numpy", fastmath=CCI_MATH, nogil=True)
def cci_many(s, h, lo, c, out):
    """cci_step over the arrays, count and flag in locals (as _sma_run), the window's sum
    running in a local as in kernels.cci_into (taken afresh here and at every turn of the
    ring: the state holds no sum)."""
    count = s[0]
    dead = s[1] != 0.0
    p = (s.shape[0] - 2) // 2
    u = np.uint64  # the ring's indices, known to be >= 0: no negative-index checks
    up = u(p)
    slot = u(int(count) % p)  # then counted
    ring = s[2:]
    total = cci_ring_sum(ring, p)  # the last p typical prices (zeros before the first p)
    mass = 0.0
    for i in range(c.shape[0]):
        hi, low, close = h[i], lo[i], c[i]
        dead, n, count = _count_in(dead, _bar_has_nan(hi, low, close), count)
        if dead:
            out[i] = NAN
            continue
        tp = (hi + low + close) / 3.0
        old = ring[slot]
        total += tp - old
        mass += abs(tp) + abs(old)
        ring[slot] = tp
        ring[slot + up] = tp
        if slot == up - u(1):
            total, mass = cci_ring_sum(ring, p), 0.0
        out[i] = NAN if n < p - 1 else cci_running(ring, slot + u(1), p, tp, total, mass)
        slot = _next_slot_u(slot, up - u(1))
    s[0] = count
    s[1] = 1.0 if dead else 0.0


@nb.njit(cache=True, error_model="numpy", nogil=True)
def mfi_many(s, h, lo, c, v, out):
    """mfi_step over the arrays, sums, last typical price, count and flag in locals and the
    ring's slot counted for the run."""
    count, dead, pos_sum, neg_sum, prev, still = s[0], s[1] != 0.0, s[2], s[3], s[4], s[5]
    p = (s.shape[0] - 6) // 2
    slot = int(count) % p
    for i in range(c.shape[0]):
        hi, low, close, vol = h[i], lo[i], c[i], v[i]
        bad = _bar_has_nan(hi, low, close) | (vol != vol)
        dead, n, count = _count_in(dead, bad, count)
        if dead:
            out[i] = NAN
            continue
        out[i], pos_sum, neg_sum, prev, still = _mfi_next(s, p, hi, low, close, vol, n, slot,
                                                          pos_sum, neg_sum, prev, still)
        slot = _next_slot(slot, p)
    s[0], s[1], s[2], s[3], s[4], s[5] = count, 1.0 if dead else 0.0, pos_sum, neg_sum, prev, still


@nb.njit(cache=True, error_model="numpy", nogil=True)
def trange_many(s, h, lo, c, out):
    for i in range(c.shape[0]):
        out[i] = trange_step(s, h[i], lo[i], c[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def atr_many(s, h, lo, c, out):
    for i in range(c.shape[0]):
        out[i] = atr_step(s, h[i], lo[i], c[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def natr_many(s, h, lo, c, out):
    for i in range(c.shape[0]):
        out[i] = natr_step(s, h[i], lo[i], c[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def adx_many(s, h, lo, c, out):
    """adx_step over the arrays, its sums, last bar, count and flag in locals for the run."""
    count, dead, p = s[0], s[1] != 0.0, int(s[2])
    plus, minus, tr_sum, adx = s[3], s[4], s[5], s[6]
    ph, pl, pc = s[7], s[8], s[9]
    for i in range(c.shape[0]):
        hi, low, close = h[i], lo[i], c[i]
        dead, n, count = _count_in(dead, _bar_has_nan(hi, low, close), count)
        n = int(n)
        if dead:
            out[i] = NAN
            continue
        out[i], plus, minus, tr_sum, adx = _adx_next(p, hi, low, close, n, plus, minus,
                                                     tr_sum, adx, ph, pl, pc)
        ph, pl, pc = hi, low, close
    s[0], s[1] = count, 1.0 if dead else 0.0
    s[3], s[4], s[5], s[6] = plus, minus, tr_sum, adx
    s[7], s[8], s[9] = ph, pl, pc


@nb.njit(cache=True, error_model="numpy", nogil=True)
def roc_many(s, x, out):
    for i in range(x.shape[0]):
        out[i] = roc_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def logret_many(s, x, out):
    for i in range(x.shape[0]):
        out[i] = logret_step(s, x[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def obv_many(s, c, v, out):
    for i in range(c.shape[0]):
        out[i] = obv_step(s, c[i], v[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def vwap_many(s, h, lo, c, v, out):
    for i in range(c.shape[0]):
        out[i] = vwap_step(s, h[i], lo[i], c[i], v[i])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def rolling_vwap_many(s, price, volume, out):
    for i in range(price.shape[0]):
        out[i] = rolling_vwap_step(s, price[i], volume[i])
