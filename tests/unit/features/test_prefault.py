"""Outputs mapped ahead on another core: the OS maps them, and what kernels write stays."""

import ctypes
import errno
import multiprocessing
import time

import numpy as np
import pytest

from cift import features as ta
from cift.features import prefault

# 40 MiB arrays: over glibc's largest mmap threshold (32 MiB), so each is fresh memory, never
# a freed block of the heap that is mapped already
N = 40 * 2**20 // 8


def test_this_machine_maps_ahead():
    # the CI machine (Linux 5.14+, 2 cores) can: the tests below need it, never skip
    assert prefault._advise is not None and prefault.ENABLED


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _mapped_after(fn, expect: int, wait: float = 5.0) -> int:
    """Resident memory that appeared after fn(), waited for up to ``wait`` s to reach
    ``expect`` bytes (the worker maps in the background)."""
    before = _resident_bytes()
    kept = fn()
    deadline = time.monotonic() + wait
    while _resident_bytes() - before < expect and time.monotonic() < deadline:
        time.sleep(0.01)
    grown = _resident_bytes() - before
    del kept
    return grown


def test_large_arrays_are_mapped_without_being_touched():
    # np.empty alone maps nothing; empty() has the worker map all three arrays
    assert _mapped_after(lambda: [np.empty(N) for _ in range(3)], 3 * 8 * N, wait=0.2) < 8 * N
    assert _mapped_after(lambda: prefault.empty(N, 3), 3 * 8 * N) >= 0.9 * 3 * 8 * N


def test_small_arrays_and_a_disabled_prefault_are_left_to_the_first_touch(monkeypatch):
    small = prefault.MIN_BYTES // 8 - 1
    assert _mapped_after(lambda: prefault.empty(small, 50), 50 * 8 * small, 0.3) < 8 * small
    monkeypatch.setattr(prefault, "ENABLED", False)
    assert _mapped_after(lambda: prefault.empty(N, 2), 2 * 8 * N, wait=0.3) < 8 * N


def test_what_a_kernel_writes_while_the_pages_are_mapped_stays():
    rng = np.random.default_rng(0)
    x = 100 + np.cumsum(rng.normal(0, 1, N))
    expected = np.convolve(x, np.ones(20) / 20, mode="valid")
    for _ in range(5):  # the kernel and the worker race over the same pages every time
        upper, middle, lower = ta.bbands(x, 20, 1.0, 1.0)
        np.testing.assert_allclose(middle[19:], expected, rtol=1e-12)
        assert np.isnan(middle[:19]).all()
        assert (upper[19:] >= middle[19:]).all() and (lower[19:] <= middle[19:]).all()


def _mapped_in_child(_) -> int:
    return _mapped_after(lambda: prefault.empty(N, 2), 2 * 8 * N)


def test_a_forked_child_maps_its_outputs_with_a_worker_of_its_own():
    # the child has the parent's queue but not its thread
    prefault.empty(N)  # the parent's worker exists before the fork
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map(_mapped_in_child, [0])[0] >= 0.9 * 2 * 8 * N


def _wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


@pytest.mark.parametrize("error, gives_up", [(errno.EINVAL, True), (errno.EINTR, False)])
def test_an_os_without_the_advice_turns_it_off_an_interrupted_call_does_not(
        monkeypatch, error, gives_up):
    calls = []

    def refusing(start, length, advice):
        calls.append(advice)
        ctypes.set_errno(error)
        return -1

    monkeypatch.setattr(prefault, "_advise", refusing)
    prefault.empty(N, 2)
    assert _wait_for(lambda: calls)  # one refused call drops the job
    if gives_up:
        assert _wait_for(lambda: prefault._advise is None)
        prefault.empty(N, 2)  # plain np.empty from now on
        time.sleep(0.05)
        assert calls == [23]
    else:
        prefault.empty(N, 2)  # the next call's arrays still go to the worker
        assert _wait_for(lambda: len(calls) == 2)
        assert prefault._advise is refusing
