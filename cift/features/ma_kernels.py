"""TA-Lib's moving-average types (its ``MAType``), one value at a time.

TA-Lib's MA, BBANDS and STOCH take the moving average as a number (``matype``); DEMA, TEMA,
TRIMA, KAMA and T3 are also features of their own. The streams take each new value into a
state held in a float64 array at an offset (:func:`ma_next`); kernels.ma_into computes the
same over arrays in loops of their own. A state is ``[type, period, stages...]``; each stage
keeps its own count, so a stage fed by another starts when that one has its first value, as
TA-Lib chains them.

=====  ======  =============================================  ==============
type   name    what                                           lookback
=====  ======  =============================================  ==============
0      SMA     mean of the last p values                      p - 1
1      EMA     k = 2/(p+1), seeded by the SMA of the first p  p - 1
2      WMA     weights 1..p, newest heaviest                  p - 1
3      DEMA    2 EMA - EMA(EMA)                               2 (p - 1)
4      TEMA    3 EMA - 3 EMA(EMA) + EMA(EMA(EMA))             3 (p - 1)
5      TRIMA   SMA of an SMA (weights 1, 2, .., 2, 1)         p - 1
6      KAMA    Kaufman's adaptive MA (efficiency ratio)       p
7      MAMA    Ehlers' MESA adaptive MA (limits 0.5, 0.05)    32 (any p)
8      T3      Tillson's T3 (six EMAs; volume factor 0.7)     6 (p - 1)
=====  ======  =============================================  ==============

A period of 1 is the input itself for every type, as in TA-Lib.
Like kernels.py, this module imports nothing of cift.
"""

from __future__ import annotations

import numba as nb
import numpy as np

NAN = np.nan
NAMES = ("SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3")
_EMAS = (0, 1, 0, 2, 3, 0, 0, 0, 6)  # EMA stages of each type
_FLAT = (1.0 + 1e-14) / (1.0 - 1e-14)  # kama_flat's bound
_KAMA_FAST = 2.0 / (2.0 + 1.0)
_KAMA_SLOW = 2.0 / (30.0 + 1.0)
#: Floating-point licence of the moving averages' arithmetic, batch and stream alike: a * b + c
#: may be one fused multiply-add, as TA-Lib's wheel computes it (its KAMA bit for bit), and
#: a recursion's step is one rounding shorter on its chain.
MA_MATH = {"contract"}
T3_VFACTOR = 0.7  # TA-Lib's volume factor of T3 as a moving-average type (and T3's default)


def lookback(p, t):
    """Values before the first output of type t over period p (TA-Lib's MA lookback). Plain
    Python for the registry (called when cift is imported: no compiled code to load then);
    ma_lookback is the same function compiled, for the kernels."""
    if p == 1:
        return 0
    if t == 3:
        return 2 * (p - 1)
    if t == 4:
        return 3 * (p - 1)
    if t == 6:
        return p
    if t == 7:
        return MAMA_LOOKBACK
    if t == 8:
        return 6 * (p - 1)
    return p - 1


ma_lookback = nb.njit(cache=True)(lookback)


@nb.njit(cache=True)
def trima_periods(p):
    """TRIMA's two box widths (equal for an odd p, one apart for an even one): their
    convolution has the weights 1, 2, .., 2, 1 over p."""
    a = (p + 1) // 2
    return a, p + 1 - a


@nb.njit(cache=True)
def ma_size(p, t):
    """Floats in the state of type t over period p."""
    if t == 0:
        body = 2 + p
    elif t == 2:
        body = 3 + p
    elif t == 5:
        a, b = trima_periods(p)
        body = 4 + a + b
    elif t == 6:
        body = 4 + p
    elif t == 7:
        body = MAMA_SIZE
    elif t == 8:
        body = 2 * _EMAS[t] + 1  # + the volume factor
    else:
        body = 2 * _EMAS[t]
    return 2 + body


@nb.njit(cache=True)
def ma_init(s, o, p, t, vfactor):
    """Make the zeroed state of type t over period p at offset o a new one: its type and
    period, and T3's volume factor (its last float) or TA-Lib's limits for MAMA."""
    s[o] = t
    s[o + 1] = p
    if t == 7:
        mama_limits(s, o + 2, MAMA_FAST, MAMA_SLOW)
    elif t == 8:
        s[o + ma_size(p, t) - 1] = vfactor


def ma_state(p: int, t: int, vfactor: float = T3_VFACTOR) -> list[float]:
    """A new state of type t over period p (all stages empty)."""
    state = np.zeros(ma_size(p, t))
    ma_init(state, 0, p, t, vfactor)
    return state.tolist()


# --- stages: each at offset b, with its count first ------------------------------------------

@nb.njit(cache=True, error_model="numpy", inline="always")
def _box(s, b, p, x):
    """Mean of the last p values: [count, running sum, ring(p)], the sum taken afresh once a
    turn of the ring so it never drifts."""
    n = int(s[b])
    s[b] = n + 1.0
    slot = n % p
    ring = b + 2
    s[ring + slot] = x
    total = s[b + 1] + x
    if n < p - 1:
        s[b + 1] = total
        return NAN
    if slot == p - 1:
        total = 0.0
        for j in range(p):
            total += s[ring + j]
    s[b + 1] = total - s[ring + (slot + 1 if slot < p - 1 else 0)]  # the oldest leaves
    return total / p


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ema(s, b, p, x):
    """EMA seeded by the mean of its first p inputs: [count, sum, then the average]."""
    n = s[b]
    s[b] = n + 1.0
    if n < p:
        total = s[b + 1] + x
        if n < p - 1:
            s[b + 1] = total
            return NAN
        total /= p
        s[b + 1] = total
        return total
    k = 2.0 / (p + 1.0)
    value = k * x + (1.0 - k) * s[b + 1]
    s[b + 1] = value
    return value


@nb.njit(cache=True, error_model="numpy", inline="always")
def _wma(s, b, p, x):
    """Weights 1..p: [count, weighted sum, plain sum, ring(p)], both sums afresh once a turn."""
    n = int(s[b])
    s[b] = n + 1.0
    slot = n % p
    ring = b + 3
    s[ring + slot] = x
    if n < p - 1:
        s[b + 1] += (n + 1) * x
        s[b + 2] += x
        return NAN
    if slot == p - 1:  # the ring holds the window in order
        weighted = 0.0
        plain = 0.0
        for j in range(p):
            weighted += (j + 1) * s[ring + j]
            plain += s[ring + j]
    else:
        weighted = s[b + 1] + p * x
        plain = s[b + 2] + x
    out = weighted / (p * (p + 1) / 2.0)
    s[b + 1] = weighted - plain  # every weight drops by one
    s[b + 2] = plain - s[ring + (slot + 1 if slot < p - 1 else 0)]
    return out


@nb.njit(cache=True, error_model="numpy", inline="always")
def kama_flat(changes, leaving):
    """Whether the window's sum of one-step changes is 0 once ``leaving`` leaves it: when that
    change is all of the sum to 2e-14. TA-Lib 0.8 takes changes - leaving for 0 within 1e-14
    of the operands (probed), so a window gone flat has exactly no changes, not the rounding
    its running sum kept (an efficiency ratio of 0); a sum short of the change leaving, which
    only rounding makes, is 0 too. One multiply and compare: it runs on every value."""
    return changes <= leaving * _FLAT


@nb.njit(cache=True, error_model="numpy", inline="always")
def kama_next(kama, x, change, changes):
    """KAMA after x, from the change over the window and the sum of its one-step changes."""
    # TA-Lib's test, signed; zero is zero (as in TA-Lib 0.8: probed down to 1e-15)
    ratio = 1.0 if changes <= change or changes == 0.0 else abs(change / changes)
    sc = ratio * (_KAMA_FAST - _KAMA_SLOW) + _KAMA_SLOW
    sc *= sc
    return (x - kama) * sc + kama


@nb.njit(cache=True, error_model="numpy", inline="always")
def _kama(s, b, p, x):
    """[count, sum of |one-step changes| over p, KAMA, ring(p + 1)]: TA-Lib's KAMA, its first
    value at the p-th input from the one before it, its sum of changes kept running."""
    n = int(s[b])
    s[b] = n + 1.0
    size = p + 1
    ring = b + 3
    slot = n % size
    dropped = s[ring + slot]  # x[n - p - 1], about to be overwritten
    s[ring + slot] = x
    if n == 0:
        return NAN
    prev = s[ring + (n - 1) % size]
    if n > p:
        changes = s[b + 1]
        leaving = abs(dropped - s[ring + (n - p) % size])
        s[b + 1] = 0.0 if kama_flat(changes, leaving) else changes - leaving
    s[b + 1] += abs(x - prev)
    if n < p:
        return NAN
    kama = kama_next(prev if n == p else s[b + 2], x, x - s[ring + (n - p) % size], s[b + 1])
    s[b + 2] = kama
    return kama


@nb.njit(cache=True, error_model="numpy", inline="always")
def t3_coefficients(v):
    """T3's weights of EMAs 6, 5, 4 and 3 at volume factor v, in TA-Lib's arithmetic."""
    v2 = v * v
    c1 = -v2 * v
    return c1, 3.0 * (v2 - c1), -6.0 * v2 - 3.0 * (v - c1), 1.0 + 3.0 * v - c1 + 3.0 * v2


# --- MAMA: Ehlers' MESA adaptive moving average, as TA-Lib computes it ----------------------

_RAD2DEG = 180.0 / (4.0 * np.arctan(1.0))
_HA, _HB = 0.0962, 0.5769  # the Hilbert transform's coefficients
# a MAMA state at offset b: [count, the price WMA's two sums and trailing value, hilbert slot,
# four Hilbert transforms (detrender, Q1, jI, jQ) of _HT floats each, then _SCALARS, the last
# three inputs]
_HT = 10  # odd ring(3), even ring(3), previous odd, even, previous input odd, even
_M_HT = 5  # where the transforms start
# the scalars: previous Q2 and I2, Re, Im, I1 of odd bars 2 and 3 back, of even bars, period,
# previous phase, MAMA, FAMA, fast limit, slow limit
_M_SC = _M_HT + 4 * _HT
_SCALARS = 14
MAMA_SIZE = _M_SC + _SCALARS + 3
MAMA_LOOKBACK = 32
MAMA_FAST, MAMA_SLOW = 0.5, 0.05  # TA-Lib's limits (MAMA's defaults, and as a type)


@nb.njit(cache=True)
def mama_limits(s, b, fast, slow):
    """Set the limits of the MAMA state at offset b."""
    s[b + _M_SC + 12] = fast
    s[b + _M_SC + 13] = slow


def mama_state(fast: float, slow: float) -> list[float]:
    """A new MAMA state with its limits."""
    state = np.zeros(MAMA_SIZE)
    mama_limits(state, 0, fast, slow)
    return state.tolist()


@nb.njit(cache=True, error_model="numpy", inline="always")
def _hilbert(s, at, even, slot, value, adjust):
    """One of MAMA's Hilbert transforms (state at ``at``) of ``value``: TA-Lib's
    operations in its order, odd and even bars in rings of their own."""
    ring = at + 3 * even
    prev = at + 6 + even
    prev_in = at + 8 + even
    scaled = _HA * value
    out = 0.0 - s[ring + slot]
    s[ring + slot] = scaled
    out += scaled
    out -= s[prev]
    s[prev] = _HB * s[prev_in]
    out += s[prev]
    s[prev_in] = value
    return out * adjust


@nb.njit(cache=True, error_model="numpy", inline="always")
def mama_next(s, b, x):
    """(MAMA, FAMA) after x (NaN, NaN for the first MAMA_LOOKBACK values), TA-Lib's MAMA:
    a 4-bar WMA of the price, its Hilbert transforms on odd and even bars, the phase's rate
    of change setting alpha between the fast and the slow limit."""
    n = int(s[b])
    s[b] = n + 1.0
    inputs = b + _M_SC + _SCALARS
    if n < 3:  # the WMA's first three weights
        s[b + 1] += x
        s[b + 2] += x * (n + 1.0)
        s[inputs + n] = x
        return NAN, NAN
    sub = s[b + 1] + x
    sub -= s[b + 3]  # the trailing value
    total = s[b + 2] + x * 4.0
    s[b + 3] = s[inputs + n % 3]  # x[n - 3]
    s[inputs + n % 3] = x
    smoothed = total * 0.1
    s[b + 1] = sub
    s[b + 2] = total - sub
    if n < 12:
        return NAN, NAN
    c = b + _M_SC
    period = s[c + 8]
    adjust = 0.075 * period + 0.54
    even = 1 if n % 2 == 0 else 0
    slot = int(s[b + 4])
    ht = b + _M_HT
    i1_prev3 = s[c + 7] if even else s[c + 5]
    detrender = _hilbert(s, ht, even, slot, smoothed, adjust)
    q1 = _hilbert(s, ht + _HT, even, slot, detrender, adjust)
    ji = _hilbert(s, ht + 2 * _HT, even, slot, i1_prev3, adjust)
    jq = _hilbert(s, ht + 3 * _HT, even, slot, q1, adjust)
    if even:
        s[b + 4] = slot + 1 if slot < 2 else 0
    q2 = 0.2 * (q1 + ji) + 0.8 * s[c]
    i2 = 0.2 * (i1_prev3 - jq) + 0.8 * s[c + 1]
    if even:  # the detrender, three bars on, is the odd bars' I1 (and the other way round)
        s[c + 5] = s[c + 4]
        s[c + 4] = detrender
    else:
        s[c + 7] = s[c + 6]
        s[c + 6] = detrender
    prev_q2, prev_i2 = s[c], s[c + 1]
    s[c + 2] = 0.2 * (i2 * prev_i2 + q2 * prev_q2) + 0.8 * s[c + 2]
    s[c + 3] = 0.2 * (i2 * prev_q2 - q2 * prev_i2) + 0.8 * s[c + 3]
    s[c], s[c + 1] = q2, i2
    re, im = s[c + 2], s[c + 3]
    last = period
    if im != 0.0 and re != 0.0:
        period = 360.0 / (np.arctan(im / re) * _RAD2DEG)
    bound = 1.5 * last
    if period > bound:
        period = bound
    bound = 0.67 * last
    if period < bound:
        period = bound
    if period < 6:
        period = 6.0
    elif period > 50:
        period = 50.0
    s[c + 8] = 0.2 * period + 0.8 * last
    # the phase's rate of change sets alpha: after the period in program order (its
    # arctangent is off the period's chain from bar to bar, which then goes first: 44 ns a
    # value against 56 with the phase before it)
    phase = np.arctan(q1 / i1_prev3) * _RAD2DEG if i1_prev3 != 0.0 else 0.0
    delta = s[c + 9] - phase
    s[c + 9] = phase
    if delta < 1.0:
        delta = 1.0
    fast, slow = s[c + 12], s[c + 13]
    if delta > 1.0:
        alpha = fast / delta
        if alpha < slow:
            alpha = slow
    else:
        alpha = fast
    mama = alpha * x + (1 - alpha) * s[c + 10]
    alpha *= 0.5
    fama = alpha * mama + (1 - alpha) * s[c + 11]
    s[c + 10] = mama
    s[c + 11] = fama
    if n < MAMA_LOOKBACK:
        return NAN, NAN
    return mama, fama


# --- the types -------------------------------------------------------------------------------

@nb.njit(cache=True, error_model="numpy", fastmath=MA_MATH)
def ma_next(s, o, x):
    """The state at offset o takes x (a number: callers keep NaN away); its value, NaN while
    it warms up."""
    t = int(s[o])
    p = int(s[o + 1])
    b = o + 2
    if p == 1:
        return x
    if t == 0:
        return _box(s, b, p, x)
    if t == 2:
        return _wma(s, b, p, x)
    if t == 5:
        a, _ = trima_periods(p)
        inner = _box(s, b, a, x)
        if inner != inner:
            return NAN
        return _box(s, b + 2 + a, p + 1 - a, inner)
    if t == 6:
        return _kama(s, b, p, x)
    if t == 7:
        return mama_next(s, b, x)[0]
    e1 = _ema(s, b, p, x)
    if t == 1 or e1 != e1:
        return e1
    e2 = _ema(s, b + 2, p, e1)
    if e2 != e2:
        return NAN
    if t == 3:
        return 2.0 * e1 - e2
    e3 = _ema(s, b + 4, p, e2)
    if e3 != e3:
        return NAN
    if t == 4:
        return 3.0 * e1 - 3.0 * e2 + e3
    e4 = _ema(s, b + 6, p, e3)  # T3
    if e4 != e4:
        return NAN
    e5 = _ema(s, b + 8, p, e4)
    if e5 != e5:
        return NAN
    e6 = _ema(s, b + 10, p, e5)
    if e6 != e6:
        return NAN
    c1, c2, c3, c4 = t3_coefficients(s[b + 12])
    return c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
