"""cift's private event loop under synchronous calls from scripts, threads and async code."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cift.store.aio import run_sync

TIMEOUT_S = 30.0  # a broken hand-over hangs: fail the test instead


def test_results_and_errors_come_back_and_the_loop_goes_on():
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    async def fail() -> None:
        raise KeyError("boom")

    assert run_sync(double(21)) == 42
    with pytest.raises(KeyError, match="boom"):
        run_sync(fail())
    assert run_sync(double(1)) == 2


def test_a_thread_running_a_loop_of_its_own_hands_the_call_over():
    async def inner() -> str:
        return threading.current_thread().name

    async def caller() -> str:
        return run_sync(inner())  # (blocking here is the caller's choice, as in a notebook)

    assert asyncio.run(caller()).startswith("cift-io")


def test_a_call_from_a_coroutine_on_cifts_own_loop_is_refused():
    async def nested() -> None:
        run_sync(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="connect_async"):
        run_sync(nested())
    assert run_sync(asyncio.sleep(0, "still fine")) == "still fine"


@pytest.mark.parametrize("first", ["waiter", "setter"])
def test_calls_from_threads_share_the_loop_and_drive_it_on(first):
    # the waiter's coroutine can only finish after the setter's has run on the same loop, and
    # the setter's ends before the waiter's: whichever thread drives the loop first, the
    # other's call must run on it, and the one left must drive on after the first returns
    state: dict[str, object] = {}
    ready = threading.Event()
    results: dict[str, object] = {}

    async def waiter() -> str:
        state["event"] = event = asyncio.Event()
        ready.set()
        await event.wait()
        await asyncio.sleep(0.01)  # still running when the setter's call has returned
        return "waited"

    async def setter() -> str:
        while "event" not in state:
            await asyncio.sleep(0.001)
        state["event"].set()  # type: ignore[attr-defined]
        return "set"

    def call(name: str, coro_fn) -> None:
        try:
            results[name] = run_sync(coro_fn())
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            results[name] = exc

    threads = {"waiter": threading.Thread(target=call, args=("waiter", waiter)),
               "setter": threading.Thread(target=call, args=("setter", setter))}
    threads[first].start()
    if first == "waiter":
        assert ready.wait(TIMEOUT_S)
    threads["setter" if first == "waiter" else "waiter"].start()
    for t in threads.values():
        t.join(TIMEOUT_S)
    assert results == {"waiter": "waited", "setter": "set"}
