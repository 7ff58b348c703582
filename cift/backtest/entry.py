"""Calling a compiled kernel from a Python loop without the dispatcher's per-call typing."""

from __future__ import annotations

import numba as nb

__all__ = ["entry_point"]


def entry_point(kernel, *args):
    """The compiled function of the Numba ``kernel`` for the types of ``args``.

    Calling it directly skips the dispatcher's typing of every argument on every call
    (for the event engine's ~30 arrays: 1.8 -> 0.5 us a call here); the same arguments'
    types must be passed each time.
    """
    types = tuple(nb.typeof(a) for a in args)
    kernel.compile(types)  # loads it from the cache, or compiles it, once
    return kernel.overloads[types].entry_point
