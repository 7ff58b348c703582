"""The worker processes of ``engine="processes"``: spawned interpreters, and a clear error
when one dies."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from cift.errors import CiftError

__all__ = ["process_pool"]


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes (forking a process that runs Numba and
    asyncio threads is not safe). A worker that dies is a CiftError saying why it most
    likely did, not the pool's bare BrokenProcessPool."""
    try:
        with ProcessPoolExecutor(workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    except BrokenProcessPool as exc:
        raise CiftError(
            "engine='processes': a worker process died before it finished. From a script, "
            "run the sweep under `if __name__ == \"__main__\":` (each spawned worker imports "
            "the script again, and would start the sweep itself); else the machine may have "
            "run out of memory") from exc
