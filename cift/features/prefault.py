"""Output arrays whose memory the OS maps on another core while a kernel fills them.

A new array of a million values or more is memory the OS has not mapped yet: the first write
to each page traps, and the OS clears the page before the write goes on. On the 2-core VM
the benchmarks run on that is 0.2-0.5 ns a value, a third of an SMA's time (TA-Lib pays it
for its outputs too). On Linux 5.14 and later, with a second core, :func:`empty` hands such
arrays to a worker thread that asks the OS to map them ahead (``madvise`` with
``MADV_POPULATE_WRITE``) while the kernel, which releases the GIL, computes; elsewhere it is
``np.empty``. Mapping a page ahead does not change what a kernel writes to it: a page the
kernel reached first is left as it is. ``CIFT_PREFAULT=0`` in the environment (or
:data:`ENABLED` set False) turns it off, for a machine whose every core is busy.

This module imports only cift.data.pages.
"""

from __future__ import annotations

import ctypes
import errno
import os
import queue
import sys
import threading

import numpy as np

from cift.data.pages import PAGE as _PAGE
from cift.data.pages import libc_madvise, usable_cores

MIN_BYTES = 4 << 20  # smaller arrays: the hand-over (~20 us) would cost about what it saves
_CHUNK = 2 << 20  # a huge page: the worker takes every array of a call a chunk at a time
_POPULATE_WRITE = 23  # MADV_POPULATE_WRITE (Linux 5.14)


def _madvise() -> object | None:
    """libc's madvise, where a worker would have a core of its own to run on; else None."""
    if sys.platform != "linux" or usable_cores() < 2:
        return None
    return libc_madvise()


_advise = _madvise()
#: Whether :func:`empty` maps large arrays ahead (where the system can)
ENABLED = os.environ.get("CIFT_PREFAULT", "1") != "0"
_jobs: queue.SimpleQueue | None = None  # the worker's, started on first use (again after fork)


def _spans(arrays: list[np.ndarray]) -> list[tuple[int, int]]:
    """The whole pages of each array, as [start, end) addresses."""
    spans = []
    for a in arrays:
        start = -(-a.ctypes.data // _PAGE) * _PAGE
        spans.append((start, (a.ctypes.data + a.nbytes) // _PAGE * _PAGE))
    return spans


def _map_ahead(jobs: queue.SimpleQueue) -> None:
    """The worker: map each call's arrays a chunk of each at a time, in the order a kernel
    that writes them side by side reaches them. Holding the arrays keeps them alive."""
    global _advise
    while True:
        arrays = jobs.get()
        spans = _spans(arrays)
        offset = 0
        failed = False
        while not failed and any(start + offset < end for start, end in spans):
            for start, end in spans:
                if start + offset < end and _advise(
                        start + offset, min(_CHUNK, end - start - offset), _POPULATE_WRITE):
                    failed = True  # (an interrupted call: the kernel's writes map the rest)
                    if ctypes.get_errno() == errno.EINVAL:  # a kernel before 5.14
                        _advise = None  # plain np.empty from now on
                    break
            offset += _CHUNK
        del arrays, spans


_starting = threading.Lock()  # (features called from several threads at once start one)


def _worker() -> queue.SimpleQueue:
    global _jobs
    with _starting:
        if _jobs is None:
            _jobs = queue.SimpleQueue()
            threading.Thread(target=_map_ahead, args=(_jobs,), name="cift-prefault",
                             daemon=True).start()
    return _jobs


def _forget_worker() -> None:  # a forked child has the queue and lock but not the thread
    global _jobs, _starting
    _jobs = None
    _starting = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def empty(n: int, count: int = 1) -> list[np.ndarray]:
    """``count`` new float64 arrays of ``n`` values, mapped ahead on another core when they
    are large (:data:`MIN_BYTES`) and the system can. Fill them from a kernel compiled with
    ``nogil=True``: one holding the GIL keeps the worker from starting."""
    arrays = [np.empty(n) for _ in range(count)]
    if ENABLED and _advise is not None and n * 8 >= MIN_BYTES:
        _worker().put(arrays)
    return arrays
