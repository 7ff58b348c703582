"""Compiled checks of numeric columns: the first row that breaks a rule.

Clean data (the common case) pays one vectorized and-reduction over the column, with no
temporaries and no early exit; only a column that holds a bad value pays for the search. A
Polars expression per rule (``~is_finite() | (x < 0)`` then ``arg_true``) cost 2-2.7 ns a
value on 15M quotes; this is a fraction of that.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["FINITE", "NON_NEGATIVE", "POSITIVE", "first_breaking", "first_breaking_each",
           "first_breaking_in", "narrowed"]

#: the rules: finite; finite and >= 0; finite and > 0 (NaN breaks each of them)
FINITE, NON_NEGATIVE, POSITIVE = 0, 1, 2


@nb.njit(cache=True, error_model="numpy", inline="always")
def _keeps(v, rule):
    """Whether ``v`` keeps ``rule``: branch-free comparisons (``&``, not ``and``)."""
    if rule == FINITE:
        return abs(v) < np.inf
    if rule == NON_NEGATIVE:
        return (v >= 0.0) & (v < np.inf)
    return (v > 0.0) & (v < np.inf)


@nb.njit(cache=True, error_model="numpy")
def _all_keep(x, rule):
    # one loop per rule, the rule a constant in each, so each is an and-reduction that
    # vectorizes (an or-reduction of `not (a and b)` ran at half the speed)
    ok = True
    if rule == FINITE:
        for i in range(x.shape[0]):
            ok &= _keeps(x[i], FINITE)
    elif rule == NON_NEGATIVE:
        for i in range(x.shape[0]):
            ok &= _keeps(x[i], NON_NEGATIVE)
    else:
        for i in range(x.shape[0]):
            ok &= _keeps(x[i], POSITIVE)
    return ok


@nb.njit(cache=True, error_model="numpy")
def first_breaking(x, rule):
    """Index of the first value of the float64 array ``x`` that breaks ``rule``, or -1."""
    if _all_keep(x, rule):
        return -1
    for i in range(x.shape[0]):
        if not _keeps(x[i], rule):
            return i
    return -1


def first_breaking_in(columns: list[np.ndarray], rules: list[int]) -> np.ndarray:
    """:func:`first_breaking_each` of float64 arrays of any writability: -1 or the row, each."""
    if not columns:
        return np.empty(0, np.int64)
    views = []
    for x in columns:
        x = x.view()
        x.flags.writeable = False  # one array type for the whole tuple (else one per mix)
        views.append(x)
    return first_breaking_each(tuple(views), np.asarray(rules, dtype=np.int64))


@nb.njit(cache=True, error_model="numpy", parallel=True)
def first_breaking_each(columns, rules):
    """:func:`first_breaking` of every array of the tuple ``columns`` under ``rules[k]``,
    the columns checked in parallel."""
    rows = np.empty(len(columns), np.int64)
    for k in nb.prange(len(columns)):
        rows[k] = first_breaking(columns[k], rules[k])
    return rows


@nb.njit(cache=True)
def narrowed(x, out, lo, hi):
    """``out[i] = x[i]`` for integer arrays (``out`` of a narrower type, e.g. int64 sides to
    int8); returns the first row whose value is outside [lo, hi], or -1. One pass: 10M rows
    in ~6 ms, where Polars' cast took 29."""
    ok = True
    for i in range(x.shape[0]):
        v = x[i]
        ok &= (v >= lo) & (v <= hi)
        out[i] = v
    if ok:
        return -1
    for i in range(x.shape[0]):
        if not lo <= x[i] <= hi:
            return i
    return -1
