"""Counter-based random numbers inside Numba kernels.

Draw ``i`` of stream ``key`` is a pure function of (key, i): the SplitMix64 finaliser applied
to ``key + i * golden``. Kernels therefore draw inside their own loops, with no buffers of
pre-drawn numbers and no generator state shared between threads, and a result does not depend
on how the work was split across threads. NumPy's generators cannot be called from a parallel
kernel without either of those costs, which is why this module exists.

Normals come from uniforms through Acklam's rational approximation of the inverse normal CDF
(relative error below 1.2e-9; a twentieth of the draws, in the tails, pay a log and a sqrt).
Geometric counts come from the bits themselves, with no log: see :func:`geometric`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from cift.data.intrinsics import leading_zeros

__all__ = ["geometric", "inverse_normal_cdf", "normal", "stream_key", "uniform", "uniform_pair"]

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


_P_LOW = 0.02425


@nb.njit(cache=True, inline="always")
def _tail(p):
    """The lower-tail branch of Acklam's approximation (0 < p < _P_LOW)."""
    q = np.sqrt(-2.0 * np.log(p))
    return ((((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q
              + 4.374664141464968e+00) * q + 2.938163982698783e+00)
            / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
                 + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1.0))


@nb.njit(cache=True, inline="always")
def inverse_normal_cdf(p):
    """The standard normal quantile of ``p`` in (0, 1) (Acklam; relative error < 1.2e-9)."""
    if p < _P_LOW:
        return _tail(p)
    if p > 1.0 - _P_LOW:
        return -_tail(1.0 - p)
    q = p - 0.5
    r = q * q
    return ((((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r
                - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r
              - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
            / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r
                  - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r
                - 1.328068155288572e+01) * r + 1.0))


@nb.njit(cache=True, inline="always")
def normal(key, i):
    """Draw ``i`` of stream ``key``: a standard normal."""
    return inverse_normal_cdf(uniform(key, i))


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
