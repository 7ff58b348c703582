"""What every benchmark script shares: best-of-N wall time."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs of ``fn`` (seconds), each after a garbage collection."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_pair(ours: Callable[[], object], peer: Callable[[], object],
              repeat: int) -> tuple[float, float]:
    """Best wall times of two functions run in alternation (so drifts in machine load hit
    both alike): (ours, peer) in seconds."""
    a = b = float("inf")
    for _ in range(repeat):
        a = min(a, best(ours, 1))
        b = min(b, best(peer, 1))
    return a, b
