"""Advice to the OS on the pages behind large NumPy arrays (Linux; elsewhere nothing).

NumPy asks Linux for transparent huge pages (2 MiB) for every array of 4 MiB or more. Memory
a process takes again soon after freeing it then comes cheaply, but fresh memory need not:
on a VM whose host takes freed memory back (free page reporting, as on the 2-core benchmark
machine), each new huge page costs a fault in the host too, 2.3 ms a MB measured there, where
small pages cost 0.4 ms a MB however fresh (and huge pages taken again 0.14). An array written
once by a one-off job (a synthetic market's 2 GB) is better off on small pages.

This module imports nothing of cift.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys

import numpy as np

__all__ = ["libc_madvise", "small_pages", "usable_cores"]

PAGE = 4096


def libc_madvise() -> object | None:
    """libc's ``madvise(addr, length, advice)`` (errno kept), or None off Linux."""
    if sys.platform != "linux":
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_advise = libc_madvise()


def small_pages(*arrays: np.ndarray) -> None:
    """Have the OS back ``arrays`` (new, not yet written) with small pages.

    Covers the pages the arrays lie on (the advice is a hint: a page shared with another
    array changes nothing it holds). Where the OS refuses it, nothing changes.
    """
    advice = getattr(mmap, "MADV_NOHUGEPAGE", None)
    if _advise is None or advice is None:
        return
    for a in arrays:
        if a.nbytes >= 4 << 20:  # (NumPy advises huge pages from 4 MiB)
            start = a.ctypes.data // PAGE * PAGE
            _advise(start, -(-(a.ctypes.data + a.nbytes) // PAGE) * PAGE - start, advice)


def usable_cores() -> int:
    """The cores this process may run on (a container's share, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
