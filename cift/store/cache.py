"""Redis as the hot cache: the latest trade and quote of every symbol, and a feed of changes.

Keys (``cift:`` prefix, configurable)::

    cift:trade:<symbol>   the last trade: 20-digit ts, then little-endian i8 ts, f8 price,
                          f8 size, i1 side
    cift:quote:<symbol>   the last quote: 20-digit ts, i8 ts, f8 bid_px, bid_sz, ask_px, ask_sz
    cift:symbols          the set of symbols with a cached value

A write-through goes through one Lua script per batch: a symbol's entry is replaced only by a
row at least as recent (a backfill of old days never hides today's price), and each replaced
entry is published on the channel ``cift:trade`` / ``cift:quote`` as msgpack
``[symbol, entry]`` so widgets can follow prices live. The fixed-width decimal timestamp lets
the script compare times as strings (Lua numbers are doubles, which cannot hold nanosecond
timestamps).

Reads of many symbols are one MGET. Its command is encoded here once per symbol list and sent
on a pooled connection as it is: redis-py's general command path (encoding each argument,
retries, metrics) cost more than the round trip itself for 100 keys. Entries are fixed-width
records, so NumPy reads them all at once: 100 symbols cost one round trip and no per-symbol
parsing beyond joining the replies.

Both the script and MGET touch many keys in one command, so the cache needs a single Redis
(or a primary with replicas), not a Redis Cluster, whose keys of one command must share a
hash slot.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import AsyncIterator, Iterable
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgpack
import numpy as np
import polars as pl

from cift.data.schema import QUOTES, TICKS
from cift.data.timestamps import TimeLike
from cift.errors import StoreError
from cift.store.aio import AsyncStore
from cift.store.base import Trade, WriteResult, checked_frame, normalize_symbols
from cift.store.pools import server_address

__all__ = ["AsyncCachedStore", "AsyncRedisCache"]

_VALUES = {"trade": ["price", "size", "side"],
           "quote": ["bid_px", "bid_sz", "ask_px", "ask_sz"]}
_TABLE_KIND = {"ticks": "trade", "quotes": "quote"}

# KEYS: the entries; ARGV[1]: channel, ARGV[2]: symbols set, then per key: symbol, value.
# Keeps the newer value (ts prefix compared as text), publishes what changed.
_SET_NEWER = """
local changed = 0
for i, key in ipairs(KEYS) do
  local symbol, value = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local old = redis.call('GET', key)
  if (not old) or string.sub(old, 1, 20) <= string.sub(value, 1, 20) then
    redis.call('SET', key, value)
    redis.call('SADD', ARGV[2], symbol)
    redis.call('PUBLISH', ARGV[1], cmsgpack.pack({symbol, value}))
    changed = changed + 1
  end
end
return changed
"""


@lru_cache(maxsize=256)
def _mget_command(prefix: str, symbols: tuple[str, ...]) -> bytes:
    """The wire form (RESP) of ``MGET prefix+symbol ...``: a read's prepared statement."""
    keys = [(prefix + s).encode() for s in symbols]
    return b"*%d\r\n$4\r\nMGET\r\n" % (len(keys) + 1) + b"".join(
        b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)


_PREFIX = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


#: The fixed-width record of each kind of entry.
_RECORDS = {
    "trade": np.dtype([("ts_text", "S20"), ("ts", "<i8"), ("price", "<f8"), ("size", "<f8"),
                       ("side", "i1")]),
    "quote": np.dtype([("ts_text", "S20"), ("ts", "<i8"), ("bid_px", "<f8"),
                       ("bid_sz", "<f8"), ("ask_px", "<f8"), ("ask_sz", "<f8")]),
}
_SCHEMAS = {"trade": TICKS, "quote": QUOTES}


def _records(kind: str, last: pl.DataFrame) -> np.ndarray:
    """Entries for the rows of a frame (ts, symbol, values), as fixed-width records."""
    rec = np.empty(last.height, _RECORDS[kind])
    rec["ts"] = last.get_column("ts").dt.epoch("ns").to_numpy()
    rec["ts_text"] = [b"%020d" % t for t in rec["ts"].tolist()]
    for c in _VALUES[kind]:
        rec[c] = last.get_column(c).to_numpy()
    return rec


def _frame(kind: str, symbols: list[str], rec: np.ndarray) -> pl.DataFrame:
    """Entries -> a frame: symbol, ts, values (the data model's dtypes, which the records'
    value fields already have: only ts is typed, as its column is built; a cast after, and
    the frame constructor instead of hstack, were each a few of a 100-symbol read's ~50 us
    of Python)."""
    return _symbol_column(tuple(symbols)).to_frame().hstack([
        pl.Series("ts", rec["ts"], _SCHEMAS[kind]["ts"]),
        *[pl.Series(c, rec[c]) for c in _VALUES[kind]],
    ])


@lru_cache(maxsize=256)
def _symbol_column(symbols: tuple[str, ...]) -> pl.Series:
    """The symbol column of these rows: a read of the same symbols again reuses it (building
    it from 100 strings was a sixth of a 100-symbol read)."""
    return pl.Series("symbol", symbols, pl.String)


class AsyncRedisCache:
    """Latest trades and quotes in Redis (redis-py asyncio); open with :meth:`open`."""

    def __init__(self, client: object, url: str, prefix: str = "cift") -> None:
        self._redis = client
        self._where = server_address(url, 6379)
        self.prefix = prefix
        self._set_newer = client.register_script(_SET_NEWER)  # type: ignore[attr-defined]
        self._own = None  # the reads' connection (see _read), closed with the pool
        self._lane = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, url: str, *, prefix: str = "cift") -> AsyncRedisCache:
        """Connect and check the server answers (a clear error naming host and port if not).

        The URL is redis-py's (``redis://``, ``rediss://``, ``unix://``, with its options such
        as ``socket_connect_timeout`` and ``socket_timeout``, 5 s by default), plus ``prefix``:
        the namespace of cift's keys and channels, for two teams sharing one Redis
        (``redis://cache/0?prefix=desk2``; default "cift")."""
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError
        from redis.exceptions import TimeoutError as RedisTimeout

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        prefix = query.pop("prefix", prefix)
        if not _PREFIX.fullmatch(prefix):
            raise StoreError(f"prefix {prefix!r}: use letters, digits and _ - . (up to 40)")
        url = urlunsplit(parts._replace(query=urlencode(query)))
        client = None
        try:
            # one retry on a fresh connection: a restarted server is reached on the next call
            client = aioredis.Redis.from_url(url, retry=Retry(NoBackoff(), 1))
            await client.ping()
        except (RedisError, OSError, ValueError, TypeError) as exc:  # (TypeError: an option
            if client is not None:                                   # redis-py does not take)
                await client.aclose()
            # (a host dropping packets, or a server that accepts and never answers, is a
            # timeout: redis-py's socket_connect_timeout and socket_timeout, 5 s by default)
            why = (f"no answer in time ({exc}; the URL's socket_connect_timeout and "
                   f"socket_timeout set the wait)" if isinstance(exc, RedisTimeout)
                   else f"{type(exc).__name__}: {exc}")
            raise StoreError(f"cannot reach Redis at {server_address(url, 6379)}: {why}") from None
        return cls(client, url, prefix)

    def _key(self, kind: str, symbol: str) -> str:
        return f"{self.prefix}:{kind}:{symbol}"

    def channel(self, kind: str = "trade") -> str:
        """The pub/sub channel of ``kind`` ("trade" or "quote") updates."""
        return f"{self.prefix}:{kind}"

    async def _call(self, coro):
        from redis.exceptions import RedisError

        if self._closed:  # redis-py would connect again, unasked
            coro.close()
            self._refuse_closed()
        try:
            return await coro
        except (RedisError, OSError) as exc:
            raise StoreError(f"Redis at {self._where}: {type(exc).__name__}: {exc}") from None

    async def put(self, table: str, df: pl.DataFrame) -> int:
        """Write through the last row per symbol of a validated ticks/quotes frame.

        Returns how many symbols' entries changed (older rows never replace newer ones).
        """
        kind = _TABLE_KIND[table]
        last = (df.group_by("symbol").last()  # last in arrival order among the latest ts
                if df.get_column("ts").is_sorted() else
                df.sort("ts", maintain_order=True).group_by("symbol").last())
        if last.height == 0:
            return 0
        rec = _records(kind, last)
        keys, args = [], [self.channel(kind), f"{self.prefix}:symbols"]
        for symbol, entry in zip(last.get_column("symbol").to_list(), rec, strict=True):
            keys.append(self._key(kind, symbol))
            args += [symbol, entry.tobytes()]
        return await self._call(self._set_newer(keys=keys, args=args))

    async def get(self, kind: str, symbols: list[str]) -> pl.DataFrame:
        """Cached entries of ``symbols`` as a frame (symbol, ts, values), in one round trip.

        Rows come in the order of ``symbols``; symbols without an entry are left out.
        """
        if not symbols:
            return _frame(kind, [], np.empty(0, _RECORDS[kind]))
        entries = await self._call(self._read(_mget_command(self._key(kind, ""), tuple(symbols))))
        if None in entries:  # some symbols have no entry
            symbols = [s for s, e in zip(symbols, entries, strict=True) if e is not None]
            entries = [e for e in entries if e is not None]
        return _frame(kind, symbols, np.frombuffer(b"".join(entries), _RECORDS[kind]))

    async def _read(self, command: bytes):
        """One encoded read command; its parsed reply.

        Reads go on the cache's own connection, taken from the pool once and kept: checking
        one out and back in per read cost ~10 us, a twentieth of a 100-symbol read. A read
        that finds it busy (concurrent reads) takes one from the pool as before.
        """
        if self._lane.locked():
            return await self._read_on(None, command)
        async with self._lane:
            if self._own is None:
                self._own = await self._redis.connection_pool.get_connection()  # type: ignore
            return await self._read_on(self._own, command)

    async def _read_on(self, conn, command: bytes):
        """``command`` on ``conn`` (None: a pooled one).

        A connection the server closed (a restart) fails the first try and is dropped; the
        read is tried once more on a fresh connection (reads are safe to repeat; a dropped
        connection of our own reconnects when it next sends).
        """
        from redis.exceptions import ConnectionError as Disconnected

        pool = self._redis.connection_pool  # type: ignore[attr-defined]
        for last_try in (False, True):
            c = conn or await pool.get_connection()
            try:
                await c.send_packed_command(command, check_health=False)
                return await c.read_response()
            except Disconnected:
                await c.disconnect()
                if last_try:
                    raise
            finally:
                if conn is None:
                    await pool.release(c)

    async def symbols(self) -> list[str]:
        """Every symbol with a cached entry, sorted."""
        members = await self._call(self._redis.smembers(f"{self.prefix}:symbols"))
        return sorted(m.decode() for m in members)

    async def forget(self, symbols: Iterable[str]) -> None:
        """Drop the entries of ``symbols`` (after a delete: the store answers next time)."""
        keys = [self._key(k, s) for s in symbols for k in _VALUES]
        if keys:
            await self._call(self._redis.delete(*keys))

    async def updates(self, kind: str = "trade") -> AsyncIterator[tuple]:
        """Follow the channel: yields (symbol, ts, *values) for every change, as they happen."""
        if self._closed:
            self._refuse_closed()
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel(kind))
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    symbol, entry = msgpack.unpackb(message["data"], raw=True)
                    rec = np.frombuffer(entry, _RECORDS[kind])[0]
                    yield (symbol.decode(), int(rec["ts"]),
                           *[rec[c].item() for c in _VALUES[kind]])
        finally:
            await pubsub.aclose()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _refuse_closed(self) -> None:
        raise StoreError(f"Redis at {self._where}: the cache is closed")

    async def close(self) -> None:
        """Close the connections; the cache refuses calls afterwards (StoreError)."""
        self._closed = True
        await self._redis.aclose()


class AsyncCachedStore(AsyncStore):
    """A store whose writes go through to a Redis cache and whose latest() reads from it.

    Symbols the cache does not hold (written before the cache existed, or deleted) are
    answered by the store and put in the cache on the way.
    """

    def __init__(self, store: AsyncStore, cache: AsyncRedisCache) -> None:
        self.store = store
        self.cache = cache
        self.url = store.url

    async def write(self, table: str, df: pl.DataFrame, *, source: str = "frame",
                    validated: bool = False) -> WriteResult:
        df = checked_frame(table, df, source=source, validated=validated)
        result = await self.store.write(table, df, source=source, validated=True)
        if df.height:
            try:
                await self.cache.put(table, df)
            except StoreError as exc:
                raise StoreError(f"the rows are stored in {self.store.url} ({result.rows:,} "
                                 f"new), but the cache was not updated: {exc}; writing "
                                 f"again skips them and updates it") from None
        return result

    async def delete(self, symbols: str | Iterable[str], start: TimeLike = None,
                     end: TimeLike = None) -> int:
        deleted = await self.store.delete(symbols, start, end)
        await self.cache.forget(normalize_symbols(symbols) or [])
        return deleted

    async def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last trade per symbol, from the cache (one round trip), the store filling gaps;
        from the store alone, with a warning, while the cache cannot be reached."""
        syms = normalize_symbols(symbols)
        try:
            if syms is None:
                syms = set(await self.cache.symbols()) | set(await self.store.symbols())
            syms = sorted(syms)  # rows come back in this order: no sort of the frame
            hits = await self.cache.get("trade", syms)
        except StoreError as exc:
            if self.cache.closed:
                raise
            warnings.warn(f"latest() read from {self.store.url}: {exc}", stacklevel=2)
            return await self.store.latest(symbols)
        if hits.height == len(syms):
            return hits
        missing = sorted(set(syms) - set(hits.get_column("symbol").to_list()))
        found = await self.store.latest(missing)
        if found.height:
            await self.cache.put("ticks", found)
        return pl.concat([hits, found.select(hits.columns)]).sort("symbol")

    async def latest_trade(self, symbol: str) -> Trade | None:
        return Trade.last_of(await self.latest([symbol]))

    async def latest_quotes(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last cached quote per symbol (None: every cached symbol): symbol, ts, bid_px,
        bid_sz, ask_px, ask_sz, sorted by symbol; symbols without a quote are left out."""
        syms = normalize_symbols(symbols)
        if syms is None:
            syms = await self.cache.symbols()
        return (await self.cache.get("quote", sorted(syms))).sort("symbol")

    # -- everything else is the store's ---------------------------------------------------
    async def _read(self, *args) -> pl.DataFrame:
        return await self.store._read(*args)

    async def bars(self, *args, **kwargs) -> pl.DataFrame:
        return await self.store.bars(*args, **kwargs)

    async def catalog(self) -> pl.DataFrame:
        return await self.store.catalog()

    async def symbols(self) -> list[str]:
        return await self.store.symbols()

    async def close(self) -> None:
        await self.cache.close()
        await self.store.close()

    def __getattr__(self, name: str):
        return getattr(self.store, name)
