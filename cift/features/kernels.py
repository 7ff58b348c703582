"""Numba kernels of the technical features: NumPy arrays in, a preallocated output filled.

Every kernel follows TA-Lib's algorithm and conventions (SMA-seeded EMA, Wilder smoothing,
population standard deviation, TA-Lib's lookback: the first ``lookback`` outputs are NaN, and
its guards: a ratio whose denominator is exactly zero gives 0, as TA-Lib 0.8 tests them;
TA-Lib before 0.8 took anything within 1e-8 of zero, and an MFI's money flow under 1, for
zero, which zeroed those features on prices quoted in fractions of a bitcoin; MFI's rules
are at :func:`mfi_into`). Rolling variance is the one deliberate difference: TA-Lib takes
E[x^2] - E[x]^2, which loses digits; here every window sums at most p terms taken about a
value inside it (:func:`_moving_variance`), which gives exactly 0 on a constant window.

Kernels use NumPy's error model: x / 0 is inf or NaN (which the guards then select away), not
a ZeroDivisionError, and divisions carry no zero check, so their loops vectorize. The ones
called from Python release the GIL (``nogil=True``): the OS maps their large outputs on
another core meanwhile (:mod:`cift.features.prefault`), and users may run them in threads.

NaN policy (the API applies it, :func:`first_nan`): a series starts at its first row with
every input present, as TA-Lib's functions start theirs (a leading NaN run is NaN in the
outputs, and the rest is computed without it); from the first NaN in any input after that,
every output is NaN -- what running sums and recursions do anyway (and TA-Lib with them),
made uniform for the features whose arithmetic would skip or forget a NaN. cift's stores
never hold NaN prices; fill or drop gaps before computing.

This module imports nothing of cift but :mod:`cift.features.ma_kernels` (DESIGN.md): they are
the bottom of the features stack.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import literal_unroll

from cift.features.ma_kernels import (MA_MATH, MAMA_FAST, MAMA_SIZE, MAMA_SLOW, T3_VFACTOR,
                                      kama_flat, kama_next, ma_init, ma_lookback, ma_next,
                                      ma_size, mama_limits, mama_next, t3_coefficients,
                                      trima_periods)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _bar_has_nan(h, lo, c):
    """Whether a bar's high, low or close is NaN (``|``, not ``or``: no branch per field)."""
    return (h != h) | (lo != lo) | (c != c)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def has_nan(x):
    """Whether x holds a NaN: an or-reduction without an early exit, which vectorizes."""
    found = False
    for i in range(x.shape[0]):
        found |= x[i] != x[i]
    return found


@nb.njit(cache=True, error_model="numpy", nogil=True)
def first_decrease(t):
    """Index of the first value below the one before it, or -1: one vectorized pass when
    the values never decrease (no temporaries), a search only when one does."""
    back = False
    for i in range(1, t.shape[0]):
        back |= t[i] < t[i - 1]
    if back:
        for i in range(1, t.shape[0]):
            if t[i] < t[i - 1]:
                return i
    return -1


@nb.njit(cache=True, error_model="numpy", nogil=True)
def first_nan(x):
    """Index of the first NaN in x, or len(x). Clean data pays one vectorized pass; only data
    with a NaN pays for the search."""
    n = x.shape[0]
    if not has_nan(x):
        return n
    for i in range(n):
        if x[i] != x[i]:
            return i
    return n


@nb.njit(cache=True, error_model="numpy", nogil=True)
def sma_into(x, p, out):
    """Simple moving average; lookback p-1. The running sum takes in x[i] - x[i-p] two
    values a step: one addition per two values sits on the loop-carried chain, the odd value
    is taken off it (0.50 against 0.81 ms per 1M values with one addition per value; four
    a step, 0.44, was not worth the code). Scaled by 1/p (a multiply, not a division);
    every few hundred values the sum is taken afresh from the window, so its rounding does
    not accumulate."""
    n = x.shape[0]
    out[: min(p - 1, n)] = np.nan
    if n < p:
        return
    inv_p = 1.0 / p
    new, old, o = x[p - 1:], x[: n - p + 1], out[p - 1:]  # views from 0: new[i] is x[p-1+i]
    m = o.shape[0]
    block = max(4 * p, 1024)
    found = False
    for b in range(0, m, block):
        total = new[b]  # afresh: the window of new[b]
        for j in range(p - 1):
            total += old[b + j]
        o[b] = total * inv_p
        incoming, leaving, dest = new[b: b + block], old[b: b + block], o[b: b + block]
        d = dest.shape[0]
        i = 0
        while i + 2 < d:
            step = incoming[i + 1] - leaving[i]
            dest[i + 1] = (total + step) * inv_p
            total += step + (incoming[i + 2] - leaving[i + 1])
            dest[i + 2] = total * inv_p
            i += 2
        if i + 1 < d:
            total += incoming[i + 1] - leaving[i]
            dest[i + 1] = total * inv_p
        found |= total != total  # a NaN stays in the sum until the next fresh one
    if found:  # the NaN policy: a fresh sum would forget it
        out[first_nan(x):] = np.nan


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ema_from(x, start, p, k, out):
    """EMA whose first output, at ``start``, is the mean of the p values ending there."""
    n = x.shape[0]
    out[: min(start, n)] = np.nan
    if start >= n:
        return
    total = 0.0
    for i in range(start - p + 1, start + 1):
        total += x[i]
    prev = total / p
    out[start] = prev
    keep = 1.0 - k
    keep2 = keep * keep
    i = start + 1
    while i + 1 < n:
        # prev*(1-k) + x*k keeps the x*k products off the critical path, and two steps at once
        # hang both outputs off prev by one multiply-add: half the recursion's latency per
        # value (the same sums, rounded an ulp or so differently)
        a = x[i] * k
        b = x[i + 1] * k
        out[i] = prev * keep + a
        prev = prev * keep2 + (a * keep + b)
        out[i + 1] = prev
        i += 2
    if i < n:
        prev = prev * keep + x[i] * k
        out[i] = prev


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ema_into(x, p, out):
    """Exponential moving average (k = 2/(p+1)), seeded by the SMA of the first p; lookback p-1."""
    ema_from(x, p - 1, p, 2.0 / (p + 1), out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def wma_into(x, p, out):
    """Linearly weighted moving average (weights 1..p, newest heaviest); lookback p-1.

    Each step adds p x to the weighted sum, then every weight drops by one (minus the plain
    sum) and the oldest value leaves the plain sum: folded so that each running sum takes one
    addition per value on its chain. Every few hundred values both sums are taken afresh from
    the window, so rounding does not accumulate (a running sum alone drifts: 4e-7 after 3M
    values, where TA-Lib's own WMA stays within 1e-13)."""
    n = x.shape[0]
    out[: min(p - 1, n)] = np.nan
    if n < p:
        return
    inv = 1.0 / (p * (p + 1) / 2.0)
    new, old, o = x[p - 1:], x[: n - p + 1], out[p - 1:]  # views from 0
    m = o.shape[0]
    block = max(4 * p, 1024)  # values between two fresh sums
    found = False
    for b in range(0, m, block):
        # afresh: the sum of (j+1) * x over the p-1 values before new[b], and their plain sum
        weighted = 0.0
        plain = 0.0
        for j in range(p - 1):
            value = old[b + j]
            weighted += (j + 1) * value
            plain += value
        incoming, leaving, dest = new[b: b + block], old[b: b + block], o[b: b + block]
        for i in range(dest.shape[0]):
            v = incoming[i]
            dest[i] = (weighted + p * v) * inv
            weighted += (p - 1) * v - plain  # + p v, then every weight drops by one
            plain += v - leaving[i]  # the newest comes in, the oldest leaves
        found |= plain != plain  # a NaN stays in the sums until the next fresh ones
    if found:  # the NaN policy: fresh sums would forget it
        out[first_nan(x):] = np.nan


_VARIANCE, _STD, _ZSCORE, _BANDS = 0, 1, 2, 3  # what _moving_variance writes
_SHORT = 8  # windows up to this long are summed one by one (_short_windows)
_SHORT_LENGTHS = tuple(range(1, _SHORT + 1))


@nb.njit(cache=True, error_model="numpy", inline="always")
def _put_window(out, mean, upper, i, xi, shift, w1, m2, inv_p, what, up, dn, with_mean):
    """Write what _moving_variance writes for the window ending at i (value xi), from its
    sum of x - shift (w1) and its centered sum of squares (m2)."""
    v = m2 * inv_p if m2 > 0.0 else 0.0
    if what == _ZSCORE:  # as stream_kernels.zscore_step computes it
        sd = np.sqrt(v)
        out[i] = (xi - (shift + w1 * inv_p)) / sd if sd > 0.0 else 0.0
    elif what == _STD:
        out[i] = np.sqrt(v) * up
    elif what == _BANDS:
        mid, sd = shift + w1 * inv_p, np.sqrt(v)
        upper[i] = mid + up * sd
        out[i] = mid - dn * sd
    else:
        out[i] = v
    if with_mean:
        mean[i] = shift + w1 * inv_p


@nb.njit(cache=True, error_model="numpy", inline="always")
def _short_windows(x, p, out, mean, what, up, dn, upper, with_mean):
    """_moving_variance for windows of p <= _SHORT values, p (and ``what``) constants where
    this is inlined: each window summed on its own, relative to its first value (stable,
    exactly 0 when constant), a loop LLVM unrolls and runs several windows at once.
    Returns whether a NaN was met."""
    inv_p = 1.0 / p
    found = False
    for b in range(x.shape[0] - p + 1):
        shift = x[b]
        s1 = 0.0
        s2 = 0.0
        for j in range(1, p):
            d = x[b + j] - shift
            s1 += d
            s2 += d * d
        found |= (s2 != s2) | (shift != shift)  # (at p = 1 a window is its shift alone)
        i = b + p - 1
        _put_window(out, mean, upper, i, x[i], shift, s1, s2 - s1 * s1 * inv_p, inv_p, what,
                    up, dn, with_mean)
    return found


@nb.njit(cache=True, error_model="numpy", nogil=True)
def var_into(x, p, out):
    """Population variance over p values; lookback p-1 (see _moving_variance)."""
    _moving_variance(x, p, out, out[:0], _VARIANCE, 1.0, 1.0, out[:0])


@nb.njit(cache=True, error_model="numpy", inline="always")
def _moving_variance(x, p, out, mean, what, up, dn, upper):
    """Population variance over p values into ``out``; lookback p-1. Stable and exactly 0 on
    constant windows; from the first NaN on, NaN. With a ``mean`` as long as ``out`` (else
    empty), also the window means, K + the sum of x - K over p: more accurate than a running
    sum, and free. ``what`` instead of the variance: _STD, the standard deviation times
    ``up``; _ZSCORE, (x - mean) / std (0 on a constant window); _BANDS, ``out`` the lower
    band mean - dn * std and ``upper`` the upper, mean + up * std (in the loop: a second pass
    over the outputs cost more). Scratch arrays of n come from the caller: NumPy's large
    buffers are backed by huge pages, Numba's are not (3x the page faults on first touch).
    Inlined into each feature, so ``what`` is a constant in its loops; ``upper`` is an
    empty array but for _BANDS.

    Windows of up to _SHORT values are summed one by one (_short_windows: at periods 2-8,
    blocks of p values cost a block's setup every few values, 1.04-1.5x TA-Lib's time).
    Longer ones, in blocks of p values (van Herk / Gil-Werman again): a window is a suffix of
    the block before plus a prefix of its own block, so its sums of x - K and (x - K)^2 are
    each a sum of at most p terms, never a running sum that drags old rounding along. K is
    the first value of the window's own block -- a value inside the window, so the terms stay
    small next to the variance (1e9 +/- 1e-3 loses nothing) and a constant window sums to
    exactly 0.

    One pass per block does both halves: the block's prefix sums (its windows) and, going
    backwards from its end, its suffix sums for the next block -- two independent chains of
    additions the CPU overlaps.
    """
    n = x.shape[0]
    with_mean = mean.shape[0] == n
    if p <= _SHORT:  # the length a constant in each inlined copy: see _short_windows
        found = False
        for k in literal_unroll(_SHORT_LENGTHS):  # one inlined copy per constant length
            if k == p:
                found = _short_windows(x, k, out, mean, what, up, dn, upper, with_mean)
        if found:  # the NaN policy
            gap = first_nan(x)
            out[gap:] = np.nan
            if with_mean:
                mean[gap:] = np.nan
            if what == _BANDS:
                upper[gap:] = np.nan
        _warm_up(p, out, mean, upper, what, with_mean)
        return
    # suffix sums of the block before (for this block's windows) and of this block (for the
    # next one's), each relative to the first value of the block it serves; [p] = 0 for a
    # window that is one whole block
    cur1, cur2 = np.zeros(p + 1), np.zeros(p + 1)
    nxt1, nxt2 = np.zeros(p + 1), np.zeros(p + 1)
    inv_p = 1.0 / p
    one = np.uint64(1)
    for b in range(0, n, p):
        e = min(b + p, n)
        shift = x[b]
        after = x[e] if e < n else 0.0  # the next block's first value
        t1 = 0.0
        t2 = 0.0
        u1 = 0.0
        u2 = 0.0
        # unsigned indices into x itself: no negative-index fixups (a select per access),
        # which were a fifth of the loop's instructions
        start, size = np.uint64(b), np.uint64(e - b)
        for q in range(size):
            i = start + q
            d = x[i] - shift
            t1 += d
            t2 += d * d
            j = size - one - q  # the backward chain, for the next block
            g = x[start + j] - after
            u1 += g
            u2 += g * g
            nxt1[j] = u1
            nxt2[j] = u2
            # every index gets a value, with no test in the loop: the first block's first
            # p-1 are partial windows, overwritten by the NaN warm-up after the loop
            w1 = cur1[q + one] + t1
            _put_window(out, mean, upper, i, x[i], shift, w1,
                        (cur2[q + one] + t2) - w1 * w1 * inv_p, inv_p, what, up, dn, with_mean)
        if t2 != t2:  # a NaN in this block: the NaN policy from it on
            out[b + first_nan(x[b:e]):] = np.nan
            if with_mean:
                mean[b + first_nan(x[b:e]):] = np.nan
            if what == _BANDS:
                upper[b + first_nan(x[b:e]):] = np.nan
            break
        cur1, nxt1 = nxt1, cur1
        cur2, nxt2 = nxt2, cur2
    _warm_up(p, out, mean, upper, what, with_mean)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _warm_up(p, out, mean, upper, what, with_mean):
    """NaN for the first p-1 values of _moving_variance's outputs."""
    k = min(p - 1, out.shape[0])
    out[:k] = np.nan
    if with_mean:
        mean[:k] = np.nan
    if what == _BANDS:
        upper[:k] = np.nan


@nb.njit(cache=True, error_model="numpy", nogil=True)
def var_nbdev_into(x, p, nbdev, out):
    """TA-Lib's VAR signature: nbdev is accepted and, as there, not applied."""
    var_into(x, p, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def stddev_into(x, p, nbdev, out):
    """Population standard deviation over p values times nbdev; lookback p-1."""
    _moving_variance(x, p, out, out[:0], _STD, nbdev, 1.0, out[:0])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _unsmoothed(x, out):
    """A moving average of period 1: the input, NaN from its first NaN on (the NaN policy)."""
    out[:] = x
    out[first_nan(x):] = np.nan


@nb.njit(cache=True, error_model="numpy", fastmath=MA_MATH, nogil=True)
def kama_into(x, p, out):
    """Kaufman's adaptive moving average (ma_kernels' KAMA step over an array): lookback p; a
    period of 1 is the input. The window's one-step changes sit in a ring, each taken once;
    a flat window (ma_kernels.kama_flat) ends the inner loop rather than sitting on the sum's
    chain as a select: a branch out of the loop, almost never taken (1.9 against 4.8 ns a
    value with the select and the leaving change computed afresh)."""
    n = x.shape[0]
    if p == 1:
        _unsmoothed(x, out)
        return
    out[: min(p, n)] = np.nan
    if n <= p:
        return
    ring = np.empty(p)  # the window's one-step changes, the oldest at ``slot``
    changes = 0.0
    for i in range(1, p + 1):
        ring[i - 1] = abs(x[i] - x[i - 1])
        changes += ring[i - 1]
    kama = out[p] = kama_next(x[p - 1], x[p], x[p] - x[0], changes)
    slot, last = 0, p - 1
    i = p + 1
    while i < n:
        while i < n:
            leaving = ring[slot]
            if kama_flat(changes, leaving):
                break
            step = abs(x[i] - x[i - 1])
            changes = (changes - leaving) + step
            ring[slot] = step
            slot = slot + 1 if slot < last else 0
            kama = out[i] = kama_next(kama, x[i], x[i] - x[i - p], changes)
            i += 1
        if i < n:  # flat: the sum starts afresh
            changes = ring[slot] = abs(x[i] - x[i - 1])
            slot = slot + 1 if slot < last else 0
            kama = out[i] = kama_next(kama, x[i], x[i] - x[i - p], changes)
            i += 1
    # (a NaN stays in the recursion: the NaN policy)


@nb.njit(cache=True, error_model="numpy", fastmath=MA_MATH, nogil=True)
def mama_into(x, fast, slow, mama, fama):
    """MESA adaptive moving average and its following average (ma_kernels.mama_next, whose
    state is a few dozen floats: it runs as it is, two arctangents a value cost more);
    lookback 32."""
    s = np.zeros(MAMA_SIZE)
    mama_limits(s, 0, fast, slow)
    for i in range(x.shape[0]):
        if x[i] != x[i]:  # the NaN policy (the step is fed numbers only)
            mama[i:] = np.nan
            fama[i:] = np.nan
            return
        mama[i], fama[i] = mama_next(s, 0, x[i])


@nb.njit(cache=True, error_model="numpy", fastmath=MA_MATH, nogil=True)
def ema_cascade_into(x, p, t, v, out):
    """DEMA (t = 3), TEMA (4) or T3 (8, volume factor v), p >= 2: ma_kernels' step through
    the warm-up, up to the first output; from there on the chained EMAs in registers, one
    pass (DEMA's and TEMA's in the step's arithmetic, the streams' values to an ulp or so as
    fused multiply-adds fall; T3's rescaled, to a few ulps)."""
    n = x.shape[0]
    first = ma_lookback(p, t)
    s = np.zeros(ma_size(p, t))
    ma_init(s, 0, p, t, v)
    for i in range(min(first + 1, n)):
        if x[i] != x[i]:  # the NaN policy (the step is fed numbers only)
            out[i:] = np.nan
            return
        out[i] = ma_next(s, 0, x[i])
    k = 2.0 / (p + 1.0)
    keep = 1.0 - k
    e = s[3::2]  # each EMA stage's [count, value]: the values
    e1, e2 = e[0], e[1]
    if t == 3:
        for i in range(first + 1, n):
            e1 = k * x[i] + keep * e1
            e2 = k * e1 + keep * e2
            out[i] = 2.0 * e1 - e2
    elif t == 4:
        e3 = e[2]
        for i in range(first + 1, n):
            e1 = k * x[i] + keep * e1
            e2 = k * e1 + keep * e2
            e3 = k * e2 + keep * e3
            out[i] = 3.0 * e1 - 3.0 * e2 + e3
    else:
        # T3's six EMAs as u_j = e_j k^(3 - j), so that u_j = keep u_j + u_(j-1): one
        # multiply-add a stage, not a multiply and a multiply-add (10 products a value, not 16,
        # and products are what the FPU does two at a time; 0.72 of the time). Values within a
        # few ulps of the EMAs'; |x| up to 1e280 and down to 1e-280 keep every u_j in range.
        k2 = k * k
        k3 = k2 * k
        u1, u2, u3, u4, u5, u6 = e1 * k2, e2 * k, e[2], e[3] / k, e[4] / k2, e[5] / k3
        c1, c2, c3, c4 = t3_coefficients(v)
        c1 *= k3
        c2 *= k2
        c3 *= k
        for i in range(first + 1, n):
            u1 = keep * u1 + k3 * x[i]
            u2 = keep * u2 + u1
            u3 = keep * u3 + u2
            u4 = keep * u4 + u3
            u5 = keep * u5 + u4
            u6 = keep * u6 + u5
            out[i] = c1 * u6 + c2 * u5 + c3 * u4 + c4 * u3


@nb.njit(cache=True, error_model="numpy", nogil=True)
def ma_into(x, p, t, out, inner):
    """TA-Lib's moving average of type t (ma_kernels) over x; lookback ma_lookback(p, t).
    The values of ma_kernels' steps (to rounding), in loops over the arrays. ``inner``:
    scratch of at least len(x), for TRIMA's first SMA or MAMA's FAMA (NumPy's: see
    api._define)."""
    n = x.shape[0]
    if p == 1 and t != 0:
        _unsmoothed(x, out)
    elif t == 0:
        sma_into(x, p, out)
    elif t == 1:
        ema_into(x, p, out)
    elif t == 2:
        wma_into(x, p, out)
    elif t == 5:  # TRIMA: an SMA of an SMA
        a, b = trima_periods(p)
        inner = inner[:n]
        sma_into(x, a, inner)
        out[: min(a - 1, n)] = np.nan
        if a - 1 < n:
            sma_into(inner[a - 1:], b, out[a - 1:])
    elif t == 6:
        kama_into(x, p, out)
    elif t == 7:
        mama_into(x, MAMA_FAST, MAMA_SLOW, out, inner[:n])
    else:  # DEMA, TEMA, T3
        ema_cascade_into(x, p, t, T3_VFACTOR, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def dema_into(x, p, out):
    """Double EMA: 2 EMA - EMA(EMA); lookback 2(p - 1)."""
    ma_into(x, p, 3, out, out)  # (no scratch used)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def tema_into(x, p, out):
    """Triple EMA: 3 EMA - 3 EMA(EMA) + EMA(EMA(EMA)); lookback 3(p - 1)."""
    ma_into(x, p, 4, out, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def trima_into(x, p, out, inner):
    """Triangular MA: an SMA of an SMA, weights 1, 2, .., 2, 1; lookback p - 1."""
    ma_into(x, p, 5, out, inner)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def t3_into(x, p, v, out):
    """Tillson's T3 at volume factor v; lookback 6(p - 1)."""
    if p == 1:
        _unsmoothed(x, out)
    else:
        ema_cascade_into(x, p, 8, v, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def bbands_into(x, p, up, dn, t, upper, middle, lower, work):
    """Bollinger bands: the moving average of type t +/- nbdev * population std; lookback
    the later of ma_lookback(p, t) and p - 1. Around the SMA, one pass gives the mean and the
    deviation; around another average the deviation is still about the window's mean, as in
    TA-Lib."""
    if t == 0:
        _moving_variance(x, p, lower, middle, _BANDS, up, dn, upper)
        return
    ma_into(x, p, t, middle, work)
    stddev_into(x, p, 1.0, lower)
    middle[: min(p - 1, x.shape[0])] = np.nan  # (MAMA's 32 may come before the deviation's)
    for i in range(x.shape[0]):
        sd = lower[i]
        upper[i] = middle[i] + up * sd
        lower[i] = middle[i] - dn * sd


@nb.njit(cache=True, error_model="numpy", nogil=True)
def rsi_into(x, p, out):
    """Relative strength index with Wilder smoothing; lookback p."""
    n = x.shape[0]
    out[: min(p, n)] = np.nan
    if n <= p:
        return
    gain = 0.0
    loss = 0.0
    for i in range(1, p + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= p
    loss /= p
    total = gain + loss
    out[p] = 0.0 if total == 0.0 else 100.0 * (gain / total)
    keep = (p - 1) / p  # Wilder smoothing by multiplications: no division in the recursion
    add = 1.0 / p
    # the previous value is carried, not loaded again: a load of x[i - 1] right after the
    # store of out[i - 1] stalled on it whenever the two arrays sat at the same offset in
    # their pages (4K aliasing: 25 instead of 4 ns/element, in one process in two)
    prev = x[p]
    for i in range(p + 1, n):
        now = x[i]
        d = now - prev
        prev = now
        # branch-free: a random walk's signs would mispredict every other step
        gain = gain * keep + max(d, 0.0) * add
        loss = loss * keep + max(-d, 0.0) * add
        total = gain + loss
        out[i] = 0.0 if total == 0.0 else 100.0 * (gain / total)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def macd_into(x, fast, slow, signal, line, sig, hist):
    """MACD line (fast EMA - slow EMA), its signal EMA and the histogram, in one pass;
    lookback slow + signal - 2. Both EMAs start where the slow one can (TA-Lib's alignment:
    the fast one is seeded by the mean of the ``fast`` values ending there)."""
    n = x.shape[0]
    start = slow - 1
    first = start + signal - 1
    line[: min(first, n)] = np.nan
    sig[: min(first, n)] = np.nan
    hist[: min(first, n)] = np.nan
    if first >= n:
        return
    kf, ks, kg = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
    f_total = 0.0
    s_total = 0.0
    for i in range(start - slow + 1, start + 1):
        s_total += x[i]
        if i > start - fast:
            f_total += x[i]
    ema_f = f_total / fast
    ema_s = s_total / slow
    seed = ema_f - ema_s  # the signal EMA is seeded by the mean of the first lines
    for i in range(start + 1, first + 1):
        ema_f = ema_f * (1.0 - kf) + x[i] * kf
        ema_s = ema_s * (1.0 - ks) + x[i] * ks
        seed += ema_f - ema_s
    ema_g = seed / signal
    m = ema_f - ema_s
    line[first] = m
    sig[first] = ema_g
    hist[first] = m - ema_g
    for i in range(first + 1, n):
        ema_f = ema_f * (1.0 - kf) + x[i] * kf
        ema_s = ema_s * (1.0 - ks) + x[i] * ks
        m = ema_f - ema_s
        ema_g = ema_g * (1.0 - kg) + m * kg
        line[i] = m
        sig[i] = ema_g
        hist[i] = m - ema_g


@nb.njit(cache=True, error_model="numpy", inline="always")
def _true_range(h, lo, prev_close):
    # the range stretched to the previous close: max(h - lo, |pc - h|, |pc - lo|), the same
    # value to the bit (each case is one of the three subtractions) in fewer operations. A
    # NaN high or low carries through max/min (first argument); pc - pc carries the close's,
    # which max/min would drop (the NaN policy: TA-Lib drops it)
    return (max(h, prev_close) - min(lo, prev_close)) + (prev_close - prev_close)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def trange_into(high, low, close, out):
    """True range; lookback 1."""
    n = close.shape[0]
    if n:
        out[0] = np.nan
    for i in range(1, n):
        out[i] = _true_range(high[i], low[i], close[i - 1])


@nb.njit(cache=True, error_model="numpy", inline="always")
def _percent_of(v, close):
    """v as a percentage of the close; 0 for a zero close (TA-Lib's NATR)."""
    return 0.0 if close == 0.0 else v / close * 100.0


@nb.njit(cache=True, error_model="numpy", inline="always")
def _wilder_atr(h, lo, before, o, prev, keep, add):
    """Wilder's recursion over the true ranges of bars (before: the previous closes) into o,
    from prev; returns the last value. Four steps at once: each output hangs off prev by one
    multiply-add, so the recursion's latency is paid once per four bars (8% faster than two
    at once; the same sums, rounded about one ulp differently)."""
    keep2 = keep * keep
    keep3 = keep2 * keep
    keep4 = keep2 * keep2
    m = o.shape[0]
    for q in range(m // 4):
        i = 4 * q
        t0 = _true_range(h[i], lo[i], before[i]) * add
        t1 = _true_range(h[i + 1], lo[i + 1], before[i + 1]) * add
        t2 = _true_range(h[i + 2], lo[i + 2], before[i + 2]) * add
        t3 = _true_range(h[i + 3], lo[i + 3], before[i + 3]) * add
        a1 = t0 * keep + t1  # off the recursion: the new ranges' share of each output
        a2 = a1 * keep + t2
        o[i] = prev * keep + t0
        o[i + 1] = prev * keep2 + a1
        o[i + 2] = prev * keep3 + a2
        prev = prev * keep4 + (a2 * keep + t3)
        o[i + 3] = prev
    for i in range(m - m % 4, m):
        prev = prev * keep + _true_range(h[i], lo[i], before[i]) * add
        o[i] = prev
    return prev


# bars per block of NATR: the block's ATRs and closes (4 KB) are still in L1 when the
# percentage pass reads them back
_PERCENT_BLOCK = 256


@nb.njit(cache=True, error_model="numpy", inline="always")
def _wilder_natr(h, lo, before, c, o, prev, keep, add):
    """_wilder_atr as a percentage of the closes c, block by block: each block's ATRs are
    divided in a second, vectorized pass while they are in L1. Inside the recursion the
    division stays scalar (one per ~4.5 cycles, NATR's bound at 1.51 ns/bar); apart it runs
    four at a time: 1.26 ns/bar on 1M warm bars (TA-Lib 1.56). Returns the last ATR."""
    m = o.shape[0]
    for s in range(0, m, _PERCENT_BLOCK):
        e = min(s + _PERCENT_BLOCK, m)
        block = o[s:e]
        prev = _wilder_atr(h[s:e], lo[s:e], before[s:e], block, prev, keep, add)
        closes = c[s:e]
        for i in range(block.shape[0]):
            block[i] = _percent_of(block[i], closes[i])
    return prev


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _atr(high, low, close, p, percent, out):
    """ATR (Wilder, seeded by the mean of the first p true ranges) into out; with
    ``percent``, as a percentage of the close (0 for a zero close). Lookback
    p."""
    n = close.shape[0]
    out[: min(p, n)] = np.nan
    if n <= p:
        return
    total = 0.0
    for i in range(1, p + 1):
        total += _true_range(high[i], low[i], close[i - 1])
    prev = total / p
    out[p] = _percent_of(prev, close[p]) if percent else prev
    keep = (p - 1) / p
    add = 1.0 / p
    # views from bar p + 1, indexed from 0: no negative-index checks in the loop
    if percent:
        prev = _wilder_natr(high[p + 1:], low[p + 1:], close[p:], close[p + 1:], out[p + 1:],
                            prev, keep, add)
    else:
        prev = _wilder_atr(high[p + 1:], low[p + 1:], close[p:], out[p + 1:], prev, keep, add)
    # the NaN policy: a NaN reaches the recursion one bar late through the previous close,
    # and never from the last close; the (sticky) last ATR tells whether to look (NATR's
    # last output would not: a zero close makes it 0)
    if prev != prev or close[n - 1] != close[n - 1]:
        out[min(first_nan(high), first_nan(low), first_nan(close)):] = np.nan


@nb.njit(cache=True, error_model="numpy", nogil=True)
def atr_into(high, low, close, p, out):
    """Average true range with Wilder smoothing, seeded by the mean of the first p; lookback p."""
    _atr(high, low, close, p, False, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def natr_into(high, low, close, p, out):
    """ATR as a percentage of the close (0 for a zero close); lookback p."""
    _atr(high, low, close, p, True, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def roc_into(x, p, out):
    """Rate of change in percent, (x / x[-p] - 1) * 100; lookback p. The NaN check rides
    along in the same vectorized loop; only data with a NaN pays for a second look."""
    n = x.shape[0]
    lo = min(p, n)
    out[:lo] = np.nan
    found = has_nan(x[:lo])
    now, before, o = x[lo:], x[: n - lo], out[lo:]  # views from 0: the loop vectorizes
    for i in range(o.shape[0]):
        o[i] = _change(now[i], before[i])
        found |= now[i] != now[i]
    if found:  # the NaN policy
        out[first_nan(x):] = np.nan


@nb.njit(cache=True, error_model="numpy", inline="always")
def _change(now, prev):
    change = (now / prev - 1.0) * 100.0  # computed either way: a select, not a branch
    return change if prev != 0.0 else 0.0


@nb.njit(cache=True, error_model="numpy", nogil=True)
def _range_position(high, low, close, p, from_high, out):
    """Where the close sits in the range of the last p bars, in percent, as TA-Lib computes it:
    (close - lowest) / (range / 100), or with ``from_high`` (highest - close) / (range / -100);
    0 for an empty range. Lookback p-1.

    The window's highest and lowest come from van Herk / Gil-Werman: in blocks of p bars, a
    running prefix extreme of the current block and the suffix extremes of the block before
    (buffers of p), so three branch-free comparisons per bar and no n-sized temporaries;
    rescanning a window when its extreme leaves it costs mispredicted branches instead.
    """
    n = close.shape[0]
    out[: min(p - 1, n)] = np.nan
    suffix_hi = np.full(p + 1, -np.inf)  # [p] stays a sentinel for windows that are one block
    suffix_lo = np.full(p + 1, np.inf)
    per_percent = -0.01 if from_high else 0.01  # range / -100 or / 100, as a multiply
    first = np.uint64(p - 1)  # the first bar with a whole window
    # indices unsigned (no negative-index checks) and no views of the blocks: p is small, and
    # making four views per block cost more than the bars' work (9.8 -> 7.1 ns/bar at p=14)
    for b in range(0, n, p):
        e = min(b + p, n)
        top = -np.inf
        bottom = np.inf
        for i in range(np.uint64(b), np.uint64(e)):
            q = i - np.uint64(b)
            h, lo, c = high[i], low[i], close[i]
            if _bar_has_nan(h, lo, c):
                out[i:] = np.nan  # the NaN policy, here rather than in a pass of its own
                return
            top = h if h > top else top
            bottom = lo if lo < bottom else bottom
            if i >= first:
                v = suffix_hi[q + np.uint64(1)]  # the window's part in the block before
                hi_v = v if v > top else top
                v = suffix_lo[q + np.uint64(1)]
                lo_v = v if v < bottom else bottom
                diff = (hi_v - lo_v) * per_percent
                num = hi_v - c if from_high else c - lo_v
                out[i] = num / diff if diff != 0.0 else 0.0
        top = -np.inf
        bottom = np.inf
        for r in range(e - b):
            i = np.uint64(e - 1 - r)  # backwards
            q = i - np.uint64(b)
            v = high[i]
            top = v if v > top else top
            suffix_hi[q] = top
            v = low[i]
            bottom = v if v < bottom else bottom
            suffix_lo[q] = bottom


@nb.njit(cache=True, error_model="numpy", nogil=True)
def willr_into(high, low, close, p, out):
    """Williams' %R over p bars, in [-100, 0]; lookback p-1."""
    _range_position(high, low, close, p, True, out)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def stoch_into(high, low, close, fastk_p, slowk_p, slowk_t, slowd_p, slowd_t, slowk, slowd,
               work):
    """Slow stochastic: %K smoothed by a moving average of slowk_p (type slowk_t), %D one of
    slowd_p over that; lookback fastk_p - 1 plus the two averages' lookbacks."""
    n = close.shape[0]
    _range_position(high, low, close, fastk_p, False, slowd)  # fast %K, in slowd for now
    k0 = fastk_p - 1
    slowk[: min(k0, n)] = np.nan
    if k0 < n:
        ma_into(slowd[k0:], slowk_p, slowk_t, slowk[k0:], work)
    d0 = k0 + ma_lookback(slowk_p, slowk_t)
    if d0 < n:
        ma_into(slowk[d0:], slowd_p, slowd_t, slowd[d0:], work)
    slowd[: min(d0, n)] = np.nan
    first = min(d0 + ma_lookback(slowd_p, slowd_t), n)
    slowk[:first] = np.nan


_ULP = np.finfo(np.float64).eps  # one rounding of a float64, relative

#: Floating-point licence for the CCI kernels: sums may be reassociated, so LLVM runs the
#: window's sum and absolute deviation as vector reductions (the roundings differ from a
#: sequential sum by an ulp or so of the window's magnitude).
CCI_MATH = {"reassoc", "nsz"}


@nb.njit(cache=True, error_model="numpy", inline="always")
def _cci_around(w, start, p, tp, mean):
    """(CCI of the window w[start:start+p] around ``mean``, its summed absolute deviation).

    The window's newest value, tp, was stored just before: it is taken from the argument,
    and the loop reads only the older ones: a vector load over a fresh store waits for it
    (p = 16 and 20 ran 30-31 ns/bar reading it, 11.6-12.2 not; TA-Lib 23-28)."""
    d = tp - mean
    dev = abs(d)
    for j in range(np.uint64(p - 1)):
        dev += abs(w[start + j] - mean)
    # zero as TA-Lib tests it (exactly), widened to the rounding of the mean (p values
    # summed, an ulp each): the mean of a constant window of large values need not round
    # back to the value (at 1e9 it gave -66.7 where TA-Lib gives 0). Relative, not the
    # absolute 1e-8 TA-Lib took before 0.8: prices of 1e-5 (some tokens) move by less than that
    tiny = 2 * p * _ULP * abs(mean)
    if abs(d) <= tiny or dev <= p * tiny:
        return 0.0, dev
    return d / (0.015 * (dev / p)), dev


@nb.njit(cache=True, error_model="numpy", inline="always")
def cci_value(w, lo, p, tp):
    """CCI of the window w[lo:lo+p] whose newest typical price is tp, its mean summed afresh
    (callers compile with CCI_MATH)."""
    # unsigned indices: no negative-index checks, and no view made per window (a view cost
    # more than the window's sums)
    start = np.uint64(lo)
    total = tp
    for j in range(np.uint64(p - 1)):  # (the older values: see _cci_around)
        total += w[start + j]
    return _cci_around(w, start, p, tp, total / p)[0]


@nb.njit(cache=True, error_model="numpy", inline="always")
def cci_running(w, lo, p, tp, total, mass):
    """cci_value with the window's sum kept running by the caller: ``total``, and ``mass``,
    the sum of |added| + |removed| values since the sum was last taken afresh, which bounds
    its rounding. One O(p) pass instead of two.

    A running sum carries the rounding of the values that left the window: a window that
    has just turned constant would come out a ratio of roundings instead of 0. Its
    deviation is then within what that rounding can make, and the window is taken afresh
    (rare: any real deviation is far above it)."""
    start = np.uint64(lo)
    value, dev = _cci_around(w, start, p, tp, total / p)
    if dev <= 4 * p * _ULP * mass:
        return cci_value(w, lo, p, tp)
    return value


@nb.njit(cache=True, error_model="numpy", inline="always")
def cci_ring_sum(ring, p):
    """The sum of a twice-written ring's first copy: its window afresh."""
    total = 0.0
    for j in range(np.uint64(p)):
        total += ring[j]
    return total


@nb.njit(cache=True, error_model="numpy", fastmath=CCI_MATH, nogil=True)
def cci_into(high, low, close, p, out):
    """Commodity channel index: (tp - SMA(tp)) / (0.015 * mean deviation); lookback p-1.

    The typical prices of the window sit in a ring written twice (at k and k+p), so the window
    is always one contiguous slice. Its sum runs from bar to bar and is taken afresh at every
    turn of the ring (rounding never builds up); the deviation is O(p), as in TA-Lib. A
    distance to the mean within the mean's rounding gives 0 (a constant window is 0, not a
    ratio of roundings; see _cci_around).
    """
    n = close.shape[0]
    out[: min(p - 1, n)] = np.nan
    ring = np.zeros(2 * p)  # zeros: the first turn's running sum subtracts them
    slot = p - 1  # i % p, counted
    total = mass = 0.0
    for i in range(n):
        h, lo, c = high[i], low[i], close[i]
        if _bar_has_nan(h, lo, c):
            out[i:] = np.nan  # the NaN policy
            return
        tp = (h + lo + c) / 3.0
        slot = slot + 1 if slot + 1 < p else 0
        old = ring[slot]
        total += tp - old
        mass += abs(tp) + abs(old)
        ring[slot] = tp
        ring[slot + p] = tp
        if slot == p - 1:
            total, mass = cci_ring_sum(ring, p), 0.0
        if i >= p - 1:
            out[i] = cci_running(ring, slot + 1, p, tp, total, mass)


@nb.njit(cache=True, error_model="numpy", nogil=True)
def obv_into(close, volume, out):
    """On-balance volume, starting at the first volume; lookback 0. The sign of the close's
    change is a select (np.sign), and NaN's sign is NaN, so a NaN close carries on."""
    n = close.shape[0]
    if n == 0:
        return
    total = volume[0]
    out[0] = total
    for i in range(1, n):
        total += volume[i] * np.sign(close[i] - close[i - 1])
        out[i] = total


@nb.njit(cache=True, error_model="numpy", inline="always")
def mfi_flows(tp, prev_tp, volume):
    """(positive, negative, whole) money flow of a bar, by TA-Lib 0.8's rules: the typical
    price times the volume, on the side the typical price moved to; none for a move within
    1e-14 of the two prices' magnitude (h+l+c of equal sums in another order is rounding,
    not a move)."""
    move = tp - prev_tp
    flow = 0.0 if abs(move) <= 1e-14 * (abs(tp) + abs(prev_tp)) else tp * volume
    if move < 0.0:
        return 0.0, flow, flow
    return flow, 0.0, flow


@nb.njit(cache=True, error_model="numpy", inline="always")
def mfi_value(pos_sum, neg_sum):
    """MFI from a window's running sums: 0 for a window without money flow; the positive sum
    clamped into [0, total], as TA-Lib 0.8 does (the sums drift by a few ulps as the window
    slides, and one whose true value is 0 can drift below it)."""
    total = pos_sum + neg_sum
    if total <= 0.0:
        return 0.0
    pos = 0.0 if pos_sum < 0.0 else (total if pos_sum > total else pos_sum)
    return 100.0 * (pos / total)


@nb.njit(cache=True, error_model="numpy", inline="always")
def mfi_quiet(still, flow, p):
    """(bars in a row without money flow after this one, capped at p; whether they fill the
    window: its sums then restart from exactly 0, dropping their rounding, as TA-Lib 0.8's
    do)."""
    still = still + 1 if flow == 0.0 else 0
    if still >= p:
        return p, True
    return still, False


@nb.njit(cache=True, error_model="numpy", nogil=True)
def mfi_into(high, low, close, volume, p, out):
    """Money flow index over p bars; lookback p. A window of p bars without money flow (no
    move, or no volume) sets the running sums to exactly 0, dropping their rounding residue,
    as TA-Lib 0.8 does (its earlier rule, 0 below 1 unit of total flow, zeroed the MFI of
    anything quoted small)."""
    n = close.shape[0]
    out[: min(p, n)] = np.nan
    if n <= p:
        return
    pos = np.zeros(p)  # ring buffers of the last p positive / negative flows
    neg = np.zeros(p)
    pos_sum = 0.0
    neg_sum = 0.0
    still = 0  # bars in a row without money flow
    poison = 0.0  # NaN from the first NaN input on: the sums' reset must not forget it
    prev_tp = (high[0] + low[0] + close[0]) / 3.0
    slot = 0  # i % p, counted: an integer division per bar cost more than the rest
    for i in range(1, n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        slot = slot + 1 if slot + 1 < p else 0
        pos_sum -= pos[slot]
        neg_sum -= neg[slot]
        up, down, flow = mfi_flows(tp, prev_tp, volume[i])
        poison += tp * volume[i] * 0.0
        # the new flows added from registers, then stored: adding them back from the ring
        # right after the store put a store-to-load round trip on the sums' chain (19 -> 9 ns)
        pos_sum += up
        neg_sum += down
        pos[slot] = up
        neg[slot] = down
        still, quiet = mfi_quiet(still, flow, p)
        if quiet:
            pos_sum = 0.0
            neg_sum = 0.0
        prev_tp = tp
        if i >= p:
            out[i] = mfi_value(pos_sum, neg_sum) + poison


@nb.njit(cache=True, error_model="numpy", inline="always")
def _directional(h, lo, prev_h, prev_lo):
    """(+DM, -DM) of one bar."""
    up = h - prev_h
    down = prev_lo - lo
    # selects, not branches (& on bools does not short-circuit)
    plus = up if (up > 0.0) & (up > down) else 0.0
    minus = down if (down > 0.0) & (up < down) else 0.0
    return plus, minus


@nb.njit(cache=True, error_model="numpy", nogil=True)
def adx_into(high, low, close, p, out):
    """Average directional index with Wilder smoothing; lookback 2p-1."""
    n = close.shape[0]
    first = 2 * p - 1
    out[: min(first, n)] = np.nan
    if n <= first:
        return
    plus = 0.0
    minus = 0.0
    tr = 0.0
    for i in range(1, p):
        dp, dm = _directional(high[i], low[i], high[i - 1], low[i - 1])
        plus += dp
        minus += dm
        tr += _true_range(high[i], low[i], close[i - 1])
    adx = 0.0
    keep = (p - 1) / p
    add = 1.0 / p
    for i in range(p, n):
        dp, dm = _directional(high[i], low[i], high[i - 1], low[i - 1])
        plus = plus * keep + dp
        minus = minus * keep + dm
        tr = tr * keep + _true_range(high[i], low[i], close[i - 1])
        dx = np.nan
        if tr != 0.0:
            plus_di = 100.0 * (plus / tr)
            minus_di = 100.0 * (minus / tr)
            s = plus_di + minus_di
            if s != 0.0:
                dx = 100.0 * (abs(minus_di - plus_di) / s)
        if i < first:
            if dx == dx:
                adx += dx
        elif i == first:
            if dx == dx:
                adx += dx
            adx /= p
            out[i] = adx
        else:
            if dx == dx:
                adx = adx * keep + dx * add
            out[i] = adx


@nb.njit(cache=True, error_model="numpy", nogil=True)
def zscore_into(x, p, out):
    """(x - mean) / population std over p values, 0 on a constant window; lookback p-1."""
    _moving_variance(x, p, out, out[:0], _ZSCORE, 1.0, 1.0, out[:0])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def logret_into(x, out):
    """Log return log(x / x[-1]); lookback 1."""
    n = x.shape[0]
    if n:
        out[0] = np.nan
    for i in range(1, n):
        out[i] = np.log(x[i] / x[i - 1])


@nb.njit(cache=True, error_model="numpy", nogil=True)
def vwap_into(high, low, close, volume, out):
    """TA-Lib's VWAP: the volume-weighted typical price (high + low + close) / 3 since the
    first bar; lookback 0. As in TA-Lib, a bar with an infinite input adds nothing, and
    while the volume so far is not positive the value stays at the last one (0 before
    any). NaN from the first NaN input on (the policy). The thirds are taken once per
    value, not per bar: one division a bar (0.73x TA-Lib's time, not 1.0x)."""
    notional = 0.0  # of high + low + close: three times the typical price's
    vol = 0.0
    last = 0.0
    for i in range(high.shape[0]):
        h, lo, c, v = high[i], low[i], close[i], volume[i]
        if (h - h) + (lo - lo) + (c - c) + (v - v) == 0.0:  # all finite
            notional += (h + lo + c) * v
            vol += v
        elif h != h or lo != lo or c != c or v != v:
            out[i:] = np.nan
            return
        if vol > 0.0:
            last = notional / (3.0 * vol)
        out[i] = last


@nb.njit(cache=True, error_model="numpy", nogil=True)
def rolling_vwap_into(price, volume, p, out):
    """Volume-weighted average price of the last p ticks (NaN if they hold no volume);
    lookback p-1."""
    n = price.shape[0]
    out[: min(p - 1, n)] = np.nan
    notional = 0.0
    vol = 0.0
    for i in range(n):
        notional += price[i] * volume[i]
        vol += volume[i]
        if i >= p - 1:
            out[i] = notional / vol if vol != 0.0 else np.nan
            j = i - p + 1
            notional -= price[j] * volume[j]
            vol -= volume[j]
