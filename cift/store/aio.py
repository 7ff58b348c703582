"""Async stores and their sync faces.

Server adapters are written once, as coroutines (the live runner awaits them). Notebook users
never write event-loop code: :class:`SyncStore` drives an async store's coroutines on one
private event loop (see :func:`run_sync`), so it works the same in a notebook (whose own loop
is already running), a papermill run and a plain script. :class:`ThreadedAsyncStore` is the
reverse, for the embedded lake: its blocking calls run in worker threads, so a coroutine that
awaits it never blocks its event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self, TypeVar

import polars as pl

from cift.data.timestamps import TimeLike
from cift.store.base import Store, Trade, WriteResult

__all__ = ["AsyncStore", "SyncStore", "ThreadedAsyncStore", "run_sync"]

T = TypeVar("T")
_BAR_READ_ROWS = 1_000_000  # ticks of small symbols read together for bars

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_helpers: ThreadPoolExecutor | None = None
_turn = threading.Condition()  # guards _driven; notified when a driver stops or a call ends
_driven = False  # whether some thread is running the private loop now
_open: weakref.WeakSet[SyncStore] = weakref.WeakSet()  # sync stores not closed yet
_EXIT_CLOSE_S = 2.0  # how long closing a store left open may take at exit


def _private_loop() -> asyncio.AbstractEventLoop:
    """The process's private adapter loop, made on first use (no thread runs it between
    calls: each synchronous call runs it; see :func:`run_sync`)."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        return _loop


def _helper_threads() -> ThreadPoolExecutor:
    global _helpers
    with _lock:
        if _helpers is None:
            _helpers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cift-io")
        return _helpers


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on cift's private event loop and wait for its result.

    A thread without an event loop of its own (a script, a worker) runs the private loop
    itself for as long as the call takes: no hand-over between threads, which cost 40-150 us
    a call on this VM (a loop in a background thread woken for each call, then the caller
    woken back), as much as a round trip to a local server. Calls from several threads at
    once share the loop: one thread drives it while the others' coroutines run on it too,
    and a caller whose call is still running when the driver's ends drives it on. A thread
    that runs a loop already (a Jupyter kernel, async code) cannot run another, so it hands
    the call to one of cift's ``cift-io`` threads, which does the same.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return _drive(coro)
    if running is _loop:
        coro.close()
        raise RuntimeError("a synchronous cift store was called from a coroutine on cift's own "
                           "loop; await the async store (cift.connect_async) there instead")
    return _helper_threads().submit(_drive, coro).result()


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """:func:`run_sync` on a thread without a running loop."""
    global _driven
    loop = _private_loop()
    with _turn:
        mine, _driven = not _driven, True
    if mine:  # nobody drives the loop: run it here, for this call
        try:
            return loop.run_until_complete(coro)
        finally:
            _stop_driving()
    # another thread drives the loop: the call runs there; drive on if it stops first
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    future.add_done_callback(_call_ended)
    while True:
        with _turn:
            while _driven and not future.done():
                _turn.wait()
            if future.done():
                return future.result()
            _driven = True
        try:
            loop.run_until_complete(asyncio.wrap_future(future, loop=loop))
        finally:
            _stop_driving()


def _stop_driving() -> None:
    global _driven
    with _turn:
        _driven = False
        _turn.notify_all()


def _call_ended(_: object) -> None:
    with _turn:
        _turn.notify_all()


@atexit.register
def _close_at_exit() -> None:
    """Close the sync stores a script left open, and the private loop, as the interpreter
    exits: each server sees a goodbye rather than a dropped connection (PostgreSQL logs one
    per connection), and Python has no unclosed loop or socket to warn of. Each store gets
    ``_EXIT_CLOSE_S`` (a server gone silent must not hold the exit)."""
    loop = _loop
    if loop is None or loop.is_closed() or _driven:
        return  # (a thread still drives the loop: leave it be)
    with contextlib.suppress(Exception):  # (another loop running in this thread, ...)
        for store in list(_open):
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(store.aio.close(), _EXIT_CLOSE_S))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class AsyncStore(ABC):
    """The Store interface as coroutines (same methods, arguments and results).

    Backends implement ``write``, ``delete``, ``_read`` (rows of one table), ``latest`` and
    ``catalog``; everything else has a default built on them, like in
    :class:`cift.store.Store`.
    """

    url: str

    @abstractmethod
    async def write(self, table: str, df: pl.DataFrame, *, source: str = "frame",
                    validated: bool = False) -> WriteResult:
        """Validate and store rows of ``table``; a batch already stored is skipped."""

    @abstractmethod
    async def delete(self, symbols: str | Iterable[str], start: TimeLike = None,
                     end: TimeLike = None) -> int:
        """Delete ticks and quotes of ``symbols`` in [start, end); returns rows deleted."""

    @abstractmethod
    async def _read(self, table: str, symbols: str | Iterable[str] | None, start: TimeLike,
                    end: TimeLike, columns: Sequence[str] | None) -> pl.DataFrame:
        """Rows of ``table`` ("ticks" or "quotes") in store order."""

    @abstractmethod
    async def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last trade per symbol: symbol, ts, price, size, side (sorted by symbol)."""

    @abstractmethod
    async def catalog(self) -> pl.DataFrame:
        """What is stored: table, symbol, first_ts, last_ts, rows."""

    async def write_ticks(self, df: pl.DataFrame) -> WriteResult:
        """Validate and store trades; a batch already stored is skipped."""
        return await self.write("ticks", df)

    async def write_quotes(self, df: pl.DataFrame) -> WriteResult:
        """Validate and store L1 quotes; a batch already stored is skipped."""
        return await self.write("quotes", df)

    async def ticks(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
                    end: TimeLike = None, columns: Sequence[str] | None = None
                    ) -> pl.DataFrame:
        """Trades in [start, end), ordered by ts (ties: symbol, then arrival order)."""
        return await self._read("ticks", symbols, start, end, columns)

    async def quotes(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
                     end: TimeLike = None, columns: Sequence[str] | None = None
                     ) -> pl.DataFrame:
        """L1 quotes in [start, end), ordered like :meth:`ticks`."""
        return await self._read("quotes", symbols, start, end, columns)

    async def bars(self, symbols: str | Iterable[str] | None, interval: str,
                   start: TimeLike = None, end: TimeLike = None) -> pl.DataFrame:
        """Time bars from stored ticks (see :meth:`cift.store.Store.bars`).

        The ticks come back and cift's one-pass bar kernel builds the bars: on PostgreSQL
        faster than aggregating in SQL, which has no first/last aggregate and must sort for
        open and close (1-minute bars of 82k ticks: 55-86 ms this way, 75-108 ms for the SQL
        GROUP BY alone, on the 2-core CI machine). Small symbols are read together, up to
        about a million ticks a read (a read per symbol cost ~3 ms: 1,000 symbols 2.7 s).
        """
        from cift.data.bars import interval_ns, symbol_time_bars, time_bars
        from cift.data.schema import BARS
        from cift.store.base import normalize_symbols, symbol_groups

        ns = interval_ns(interval)  # a bad interval fails even where there are no ticks
        syms = normalize_symbols(symbols)
        rows: dict[str, int] = {}
        if syms is None or len(syms) > 1:
            catalog = (await self.catalog()).filter(pl.col("table") == "ticks")
            rows = dict(zip(catalog["symbol"], catalog["rows"], strict=True))
            syms = sorted(rows) if syms is None else [s for s in syms if s in rows]
        frames = []
        for group in symbol_groups(syms, rows, _BAR_READ_ROWS):
            if len(group) == 1:  # no symbol column to read and code
                t = await self.ticks(group, start, end, ["ts", "price", "size"])
                bars = symbol_time_bars(group[0], *t.get_columns(), ns) if t.height else None
            else:
                t = await self.ticks(group, start, end, ["ts", "symbol", "price", "size"])
                bars = time_bars(t, ns) if t.height else None
            if bars is not None:
                frames.append(bars)
        if not frames:
            return pl.DataFrame(schema=BARS)
        return pl.concat(frames).sort(["ts", "symbol"], maintain_order=True)

    async def latest_trade(self, symbol: str) -> Trade | None:
        """The last trade of one symbol (see :meth:`cift.store.Store.latest_trade`)."""
        return Trade.last_of(await self.latest(symbol))

    async def symbols(self) -> list[str]:
        """Every symbol with stored ticks or quotes, sorted."""
        return sorted(set((await self.catalog()).get_column("symbol").to_list()))

    async def close(self) -> None:
        """Release connections."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


class SyncStore(Store):
    """A :class:`Store` whose every call runs an :class:`AsyncStore` coroutine to completion.

    The async store is reachable as ``.aio`` (on cift's private loop).
    """

    def __init__(self, aio: AsyncStore) -> None:
        self.aio = aio
        self.url = aio.url
        _open.add(self)

    def write_ticks(self, df: pl.DataFrame) -> WriteResult:
        return run_sync(self.aio.write_ticks(df))

    def write_quotes(self, df: pl.DataFrame) -> WriteResult:
        return run_sync(self.aio.write_quotes(df))

    def write(self, table: str, df: pl.DataFrame, *, source: str = "frame",
              validated: bool = False) -> WriteResult:
        return run_sync(self.aio.write(table, df, source=source, validated=validated))

    def delete(self, symbols: str | Iterable[str], start: TimeLike = None,
               end: TimeLike = None) -> int:
        return run_sync(self.aio.delete(symbols, start, end))

    def ticks(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
              end: TimeLike = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        return run_sync(self.aio.ticks(symbols, start, end, columns))

    def quotes(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
               end: TimeLike = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        return run_sync(self.aio.quotes(symbols, start, end, columns))

    def bars(self, symbols: str | Iterable[str] | None, interval: str,
             start: TimeLike = None, end: TimeLike = None) -> pl.DataFrame:
        return run_sync(self.aio.bars(symbols, interval, start, end))

    def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        return run_sync(self.aio.latest(symbols))

    def latest_trade(self, symbol: str) -> Trade | None:
        return run_sync(self.aio.latest_trade(symbol))

    def catalog(self) -> pl.DataFrame:
        return run_sync(self.aio.catalog())

    def symbols(self) -> list[str]:
        return run_sync(self.aio.symbols())

    def close(self) -> None:
        _open.discard(self)
        run_sync(self.aio.close())

    def __getattr__(self, name: str) -> Any:
        # adapter extras (migrate, ...): coroutines run to completion, the rest as they are
        attr = getattr(self.aio, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)  # (its docstring and signature, for help() and "?")
        def call(*args: Any, **kwargs: Any) -> Any:
            return run_sync(attr(*args, **kwargs))
        return call


def _in_thread(name: str):
    """A coroutine method that runs the wrapped store's ``name`` in a worker thread (with
    AsyncStore's docstring and signature, for ``help()`` and a notebook's ``?``)."""
    @functools.wraps(getattr(AsyncStore, name), updated=())  # (not its abstract mark)
    async def call(self: ThreadedAsyncStore, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.store, name), *args, **kwargs)

    return call


class ThreadedAsyncStore(AsyncStore):
    """An async face for a blocking :class:`Store` (the lake): each call runs in a thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.url = store.url

    write = _in_thread("write")
    write_ticks = _in_thread("write_ticks")
    write_quotes = _in_thread("write_quotes")
    delete = _in_thread("delete")
    ticks = _in_thread("ticks")
    quotes = _in_thread("quotes")
    bars = _in_thread("bars")
    latest = _in_thread("latest")
    latest_trade = _in_thread("latest_trade")
    catalog = _in_thread("catalog")
    symbols = _in_thread("symbols")
    close = _in_thread("close")

    async def _read(self, table: str, symbols: str | Iterable[str] | None, start: TimeLike,
                    end: TimeLike, columns: Sequence[str] | None) -> pl.DataFrame:
        return await (self.ticks if table == "ticks" else self.quotes)(
            symbols, start, end, columns)

    def __getattr__(self, name: str) -> Any:
        # the store's extras (ingest, compact, ...), in a thread too
        attr = getattr(self.store, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(attr, *args, **kwargs)
        return call
