"""Counter-based random numbers inside Numba kernels.

Draw ``i`` of stream ``key`` is a pure function of (key, i): the SplitMix64 finaliser applied
to ``key + i * golden``. Kernels therefore draw inside their own loops, with no buffers of
pre-drawn numbers and no generator state shared between threads, and a result does not depend
on how the work was split across threads. NumPy's generators cannot be called from a parallel
kernel without either of those costs, which is why this module exists.

Normal and exponential draws use the ziggurat method (Marsaglia and Tsang, 256 strips): 99%
of draws cost one draw, a table lookup and a compare; the rest (the tail, a strip's wedge)
redraw from a side stream. Geometric counts come from the bits themselves, with no log (see
:func:`geometric`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from cift.data.intrinsics import leading_zeros

__all__ = ["exponential", "geometric", "normal", "stream_key", "uniform", "uniform_pair"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stream_key(*entropy: int) -> np.uint64:
    """A 64-bit stream key from non-negative integers (a seed and stream indices)."""
    return np.random.SeedSequence(list(entropy)).generate_state(1, np.uint64)[0]


@nb.njit(cache=True, inline="always")
def _bits(key, i):
    x = key + np.uint64(i) * _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def uniform(key, i):
    """Draw ``i`` of stream ``key``: a float64 uniform in the open interval (0, 1)."""
    return (np.float64(_bits(key, i) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True, inline="always")
def uniform_pair(key, i):
    """Two independent uniforms in (0, 1) with 32 random bits each, from one draw."""
    x = _bits(key, i)
    scale = 1.0 / 4294967296.0
    return ((np.float64(x >> np.uint64(32)) + 0.5) * scale,
            (np.float64(x & np.uint64(0xFFFFFFFF)) + 0.5) * scale)


def _ziggurat(f, f_inv, tail_area, strips=256):
    """Ziggurat tables of a decreasing density ``f`` on [0, inf): ``x[0]`` is the base
    strip's width (its area over f(r)), ``x[1] = r`` where the tail starts, ..., ``x[strips]
    = 0``, every strip of the same area; ``y = f(x)``."""

    def top(r):  # the top strip's upper edge (1 when r is right; above: strips too big)
        area = r * f(r) + tail_area(r)
        x = r
        for _ in range(strips - 2):
            y = f(x) + area / x
            if y >= 1.0:
                return 2.0
            x = f_inv(y)
        return f(x) + area / x

    lo, hi = 1.0, 20.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if top(mid) > 1.0 else (lo, mid)
    r = hi
    area = r * f(r) + tail_area(r)
    x = [area / f(r), r]
    for _ in range(strips - 2):
        x.append(f_inv(f(x[-1]) + area / x[-1]))
    x.append(0.0)
    return np.array(x), np.array([f(t) for t in x])


_NORMAL_X, _NORMAL_Y = _ziggurat(lambda x: math.exp(-0.5 * x * x),
                                 lambda y: math.sqrt(-2.0 * math.log(y)),
                                 lambda r: math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2)))
_EXP_X, _EXP_Y = _ziggurat(lambda x: math.exp(-x), lambda y: -math.log(y), lambda r: math.exp(-r))
_SIDE = np.uint64(0xD1B54A32D192ED03)  # the side stream of redraws: key ^ _SIDE
_REDRAWS = np.uint64(64)  # side-stream draws reserved per main draw (a redraw is 1% likely)


@nb.njit(cache=True, inline="always")
def _strip_point(h, xs):
    """A ziggurat draw from the bits ``h``: its strip (the low 8 bits) and a point uniform on
    [0, xs[strip]) (the top 53 bits; bit 8 is left for a sign)."""
    strip = h & np.uint64(255)
    return strip, np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0) * xs[strip]


@nb.njit(cache=True)
def _slow_draw(key, i, h, xs, ys, two_sided):
    """The 1% of ziggurat draws that fall outside their strip's rectangle: the normal's
    (``two_sided``, density exp(-x^2/2), a sign from bit 8) or the exponential's (exp(-x)).
    Redraws come from the side stream, from ``i * _REDRAWS`` on."""
    side = key ^ _SIDE
    c = np.uint64(i) * _REDRAWS
    while True:
        strip, x = _strip_point(h, xs)
        sign = 1.0 if not two_sided or h & np.uint64(256) else -1.0
        if x < xs[strip + 1]:
            return sign * x
        if strip == 0:  # the tail beyond r
            r = xs[1]
            if not two_sided:  # the exponential's tail is r plus an exponential
                return r - np.log(uniform(side, c))
            while True:  # Marsaglia's method
                a = -np.log(uniform(side, c)) / r
                b = -np.log(uniform(side, c + np.uint64(1)))
                c += np.uint64(2)
                if b + b > a * a:
                    return sign * (r + a)
        y = ys[strip] + uniform(side, c) * (ys[strip + 1] - ys[strip])
        if y < np.exp(-0.5 * x * x if two_sided else -x):
            return sign * x
        h = _bits(side, c + np.uint64(1))
        c += np.uint64(2)


@nb.njit(cache=True, inline="always")
def normal(key, i):
    """Draw ``i`` of stream ``key``: a standard normal (ziggurat)."""
    h = _bits(key, i)
    strip, x = _strip_point(h, _NORMAL_X)
    if x < _NORMAL_X[strip + 1]:
        return x if h & np.uint64(256) else -x
    return _slow_draw(key, i, h, _NORMAL_X, _NORMAL_Y, True)


@nb.njit(cache=True, inline="always")
def exponential(key, i):
    """Draw ``i`` of stream ``key``: a standard exponential (mean 1; ziggurat)."""
    h = _bits(key, i)
    strip, x = _strip_point(h, _EXP_X)
    if x < _EXP_X[strip + 1]:
        return x
    return _slow_draw(key, i, h, _EXP_X, _EXP_Y, False)


@nb.njit(cache=True, inline="always")
def geometric(key, i, bits):
    """Draw ``i`` of stream ``key``: failures before the first success of trials that succeed
    with probability 2**-bits (P(k) = p (1 - p)^k, mean 2**bits - 1), capped at 64 // bits - 1.

    The 64 random bits are read as 64 // bits trials from the top, a trial succeeding when its
    group of ``bits`` is all zero: the count is found with one leading-zeros instruction.
    """
    x = ~_bits(key, i)  # ones where the draw has zeros
    zeros = x
    for t in range(1, bits):
        zeros &= x >> np.uint64(t)  # bit j: bits j .. j + bits - 1 of the draw all zero
    group_starts = np.uint64(0)
    for t in range(0, 64 - bits + 1, bits):
        group_starts |= np.uint64(1) << np.uint64(t)
    return (leading_zeros(zeros & group_starts) - np.uint64(bits - 1)) // np.uint64(bits)
