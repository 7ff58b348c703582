"""QuestDB: ingest over ILP/HTTP (the ``questdb`` client's dataframe path), queries over the
PG wire with asyncpg.

URL: ``questdb://[user[:password]@]host[:pg_port][/db][?http_port=9000&prefix=...]``
(defaults: admin / quest, PG wire 8812, database qdb, ILP over HTTP on 9000).

Tables (names prefixed by ``prefix``, empty by default)::

    ticks  (ts TIMESTAMP_NS, symbol SYMBOL, price, size DOUBLE, side LONG, seq LONG)
    quotes (ts TIMESTAMP_NS, symbol SYMBOL, bid_px, bid_sz, ask_px, ask_sz DOUBLE, seq LONG)
        TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, symbol, seq)
    chunks (ts TIMESTAMP, tbl SYMBOL, symbol SYMBOL, day INT, digest VARCHAR, rows LONG)

Idempotent ingest, twice over: a batch's (symbol, day) chunks whose content hash is in
``chunks`` are not sent again; and ``seq`` is derived from the chunk's hash and the row's
place in it, so a batch sent again after a failure between the rows and its ``chunks`` entry
upserts the same keys instead of doubling rows. A batch goes in requests of 250k rows, each
committed on its own (QuestDB has no transaction across requests), so a write that fails
part-way can leave some of its rows: writing the batch again completes it without doubling
any. The requests go on two connections side by side, each with whole symbol-days of the
batch. QuestDB keeps rows of equal timestamps in the order they arrived (a symbol-day's
on one connection), which is the tie order cift's stores return.

A write returns once QuestDB has committed its rows to the tables' write-ahead logs (durable,
as the ILP sender's own flush), not once it has applied them: this store's own reads, and
its next write's check of the manifest, first wait until what it wrote is applied
(``wal_tables()``), and so does :meth:`AsyncQuestDB.close`; other clients see the rows once
QuestDB applies them, as with any WAL table.

QuestDB facts this module is written to (see DESIGN.md): no ``COPY`` (it breaks the
connection), timestamp parameters as naive UTC datetimes, errors without SQLSTATE, WAL tables
apply writes asynchronously (see above), no row DELETE (a delete rewrites the table without
the rows), no bind variables in ``INSERT ... SELECT`` or ``CREATE TABLE ... AS``
(questdb/questdb#5605, open).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import warnings
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import polars as pl

from cift.data.bars import interval_ns
from cift.data.schema import BARS, TABLES, TICKS
from cift.data.timestamps import TimeLike
from cift.errors import StoreError
from cift.store.aio import AsyncStore
from cift.store.base import (
    TimeRange,
    WriteResult,
    checked_frame,
    normalize_columns,
    normalize_symbols,
    rows_frame,
)
from cift.store.batches import Batch, dealt, rank_in_group
from cift.store.pools import close_when_dropped, redact, server_address, with_pooled

__all__ = ["AsyncQuestDB"]

_DAY_NS = 86_400 * 1_000_000_000
_PREFIX = re.compile(r"^[A-Za-z0-9_]{0,40}$")
_VALUE_SQL = {"price": "DOUBLE", "size": "DOUBLE", "side": "LONG", "bid_px": "DOUBLE",
              "bid_sz": "DOUBLE", "ask_px": "DOUBLE", "ask_sz": "DOUBLE"}
_WAL_TIMEOUT_S = 60.0
# rows per ILP/HTTP request: the client buffers a request whole and refuses more than 100 MiB
# (~90 bytes a tick: a million-row batch in one request did not fit)
_ILP_ROWS = 250_000
# ILP/HTTP connections sending one batch side by side, each its own chunks (a symbol-day's
# rows keep their order): QuestDB takes requests on several connections at once, a WAL
# writer each
_SENDERS = 2
# values bound in one IN (...) list: the PG wire counts a statement's parameters in 16 bits
_IN_MAX = 1_000


def _values(table: str) -> list[str]:
    return [c for c in TABLES[table] if c not in ("ts", "symbol")]


def _in_groups(values: list[str] | None) -> list[list[str] | None]:
    """``values`` in lists short enough to bind in one statement: one query each (None, for
    every symbol, is one query; an empty list is none)."""
    if values is None:
        return [None]
    return [values[i:i + _IN_MAX] for i in range(0, len(values), _IN_MAX)]


def _naive_utc(ns: int, *, up: bool) -> dt.datetime:
    """A bound in ns as the naive UTC datetime QuestDB takes (whole microseconds: rounded
    outwards; the exact ns bound is applied to the rows afterwards)."""
    us = -(-ns // 1000) if up else ns // 1000
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)


def _sample_unit(ns: int) -> str:
    """An interval in QuestDB's SAMPLE BY units (the largest unit that divides it)."""
    for unit, size in (("d", _DAY_NS), ("h", 3_600 * 10**9), ("m", 60 * 10**9),
                       ("s", 10**9), ("T", 10**6), ("U", 10**3), ("n", 1)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    raise AssertionError("unreachable")


def _ilp_frame(table: str, batch: Batch, frame: pl.DataFrame):
    """The rows of ``frame`` (``batch``'s, maybe fewer chunks) as the pandas frame the ILP
    client sends: ts, symbol (categorical, made from codes: 10x faster than from 5M strings),
    the values, and seq: 32 bits of the chunk's hash, then the row's place in its chunk, so
    a chunk's rows get the same keys in whatever batch they come again."""
    import pandas as pd

    key = frame.get_column("_chunk").to_numpy()
    salt = np.array([int(c.digest[:8], 16) & 0x7FFFFFFF for c in batch.chunks], np.int64)
    names = sorted({c.symbol for c in batch.chunks})
    index = {name: i for i, name in enumerate(names)}
    code = np.array([index[c.symbol] for c in batch.chunks], np.int32)
    out = frame.select("ts", *_values(table)).with_columns(
        pl.Series("seq", rank_in_group(key, salt << 32)),
        *([pl.col("side").cast(pl.Int64)] if table == "ticks" else [])).to_pandas()
    out.insert(1, "symbol", pd.Categorical.from_codes(code[key], names))
    return out


def _sender_conf(host: str, http_port: int, user: str | None, password: str | None) -> str:
    """The ILP/HTTP client's configuration: binary doubles, a request per _ILP_ROWS rows."""
    auth = f"username={user};password={password};" if user and password else ""
    return (f"http::addr={host}:{http_port};{auth}protocol_version=2;"
            f"auto_flush_rows={_ILP_ROWS};auto_flush_interval=off;auto_flush_bytes=off;")


class AsyncQuestDB(AsyncStore):
    """The Store interface on QuestDB, as coroutines; open with :meth:`open`."""

    def __init__(self, url: str, pool: object, sender_conf: str, prefix: str) -> None:
        self.url = redact(url)
        self.prefix = prefix
        self._where = server_address(url, 8812)
        self._pool = pool
        self._sender_conf = sender_conf
        self._unapplied: set[str] = set()  # tables written, their WAL maybe not applied yet

    @classmethod
    async def open(cls, url: str) -> AsyncQuestDB:
        """Connect (PG wire pool + ILP/HTTP configuration) and create missing tables."""
        import asyncpg

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        unknown = sorted(set(query) - {"prefix", "http_port"})
        if unknown:  # (a warning, not an error: a URL shared with other tools may carry more)
            warnings.warn(f"QuestDB URL: parameter(s) {unknown} ignored (cift reads "
                          f"http_port and prefix)", stacklevel=2)
        prefix = query.get("prefix", "")
        if not _PREFIX.match(prefix):
            raise StoreError(f"prefix {prefix!r}: use letters, digits and _")
        http_port = query.get("http_port", "9000")
        if not http_port.isdigit() or not 0 < int(http_port) < 65536:
            raise StoreError(f"http_port {http_port!r}: expected a port number (ILP over "
                             f"HTTP; QuestDB's default is 9000)")
        host = parts.hostname or "localhost"
        try:
            pool = await asyncpg.create_pool(
                host=host, port=parts.port or 8812, user=parts.username or "admin",
                password=parts.password or "quest", database=parts.path.lstrip("/") or "qdb",
                min_size=1, max_size=4,
                statement_cache_size=0)  # QuestDB's PG wire: plain extended queries
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot connect to QuestDB at {host}:{parts.port or 8812}: "
                             f"{type(exc).__name__}: {exc}") from None
        conf = _sender_conf(host, int(http_port), parts.username, parts.password)
        store = cls(url, pool, conf, prefix)
        close_when_dropped(store, pool)
        try:
            await store.migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    def _t(self, table: str) -> str:
        return f"{self.prefix}{table}"

    async def _sql(self, method: str, sql: str, *args):
        """Run one statement (after a lost connection, once more on a fresh one); QuestDB's
        errors (no SQLSTATE) become StoreError with the server's message."""
        return await with_pooled(self._pool, lambda conn: getattr(conn, method)(sql, *args),
                                 f"QuestDB at {self._where}")

    async def close(self) -> None:
        """Wait until this store's writes are applied (others then see them), then
        release the connections."""
        try:
            await self._applied(*TABLES, "chunks")
        finally:
            await self._pool.close()

    async def migrate(self) -> list[str]:
        """Create the tables that do not exist yet; returns their names."""
        existing = {r[0] for r in await self._sql("fetch", "SELECT table_name FROM tables()")}
        created = []
        for table in TABLES:
            if self._t(table) in existing:
                continue
            cols = ", ".join(f"{c} {_VALUE_SQL[c]}" for c in _values(table))
            try:
                await self._sql("execute", (
                    f"CREATE TABLE IF NOT EXISTS {self._t(table)} (ts TIMESTAMP_NS, "
                    f"symbol SYMBOL, {cols}, seq LONG) TIMESTAMP(ts) PARTITION BY DAY WAL "
                    f"DEDUP UPSERT KEYS(ts, symbol, seq)"))
            except StoreError as exc:  # (no SQLSTATE to tell an old server by)
                raise StoreError(f"{exc} -- cift keeps nanosecond timestamps in TIMESTAMP_NS "
                                 f"columns, which need QuestDB 9.1 or later") from None
            created.append(self._t(table))
        if self._t("chunks") not in existing:
            await self._sql("execute", (
                f"CREATE TABLE IF NOT EXISTS {self._t('chunks')} (ts TIMESTAMP, tbl SYMBOL, "
                f"symbol SYMBOL, day INT, digest VARCHAR, rows LONG) TIMESTAMP(ts) "
                f"PARTITION BY YEAR WAL"))
            created.append(self._t("chunks"))
        return created

    async def version(self) -> int:
        """The schema version (QuestDB's tables have had one shape so far)."""
        return 1

    async def _applied(self, *tables: str) -> None:
        """Wait until the writes of this store to ``tables`` are visible."""
        for table in tables:
            if table in self._unapplied:
                await self._wait_applied(table)
                self._unapplied.discard(table)

    async def _wait_applied(self, table: str) -> None:
        """Wait until a WAL table has applied every committed write (rows are visible)."""
        deadline = time.monotonic() + _WAL_TIMEOUT_S
        while True:
            row = await self._sql("fetchrow", "SELECT writerTxn, sequencerTxn, suspended "
                                  "FROM wal_tables() WHERE name = $1", self._t(table))
            if row is None or row[0] >= row[1]:
                return
            if row[2]:
                raise StoreError(f"QuestDB suspended WAL table {self._t(table)}")
            if time.monotonic() > deadline:
                raise StoreError(f"QuestDB did not apply writes to {self._t(table)} "
                                 f"within {_WAL_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.01)

    # -- writes ---------------------------------------------------------------------------
    async def write(self, table: str, df: pl.DataFrame, *, source: str = "frame",
                    validated: bool = False) -> WriteResult:
        """Validate, then send the chunks not stored yet over ILP/HTTP (requests of 250k rows);
        returns once QuestDB has them in its write-ahead log (see the module's docstring)."""
        df = checked_frame(table, df, source=source, validated=validated)
        if df.height == 0:
            return WriteResult(0)
        batch = Batch.of(df)
        await self._applied("chunks")  # the manifest as far as this store has written it
        known = set()
        for digests in _in_groups([c.digest for c in batch.chunks]):
            marks = ", ".join(f"${i + 2}" for i in range(len(digests)))
            known.update(r[0] for r in await self._sql(
                "fetch", f"SELECT digest FROM {self._t('chunks')} WHERE tbl = $1 "
                         f"AND digest IN ({marks})", table, *digests))
        todo = [c for c in batch.chunks if c.digest not in known]
        if not todo:
            return WriteResult(0, df.height)

        def send(chunks: list) -> None:  # (in a thread: picks its rows, converts, sends)
            part = batch.frame if len(chunks) == len(batch.chunks) else batch.frame.filter(
                pl.col("_chunk").is_in([c.key for c in chunks]))
            self._send(table, _ilp_frame(table, batch, part))

        self._unapplied.add(table)  # (before sending: a request may commit, a later fail)
        parts, _ = dealt(todo, lambda c: c.rows, _SENDERS)
        await asyncio.gather(*(asyncio.to_thread(send, chunks) for chunks in parts))
        # the hashes after the rows are committed: a hash never names rows QuestDB lacks
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self._unapplied.add("chunks")
        await self._sql("executemany",
                        f"INSERT INTO {self._t('chunks')} VALUES ($1, $2, $3, $4, $5, $6)",
                        [(now, table, c.symbol, c.day, c.digest, c.rows) for c in todo])
        rows = sum(c.rows for c in todo)
        return WriteResult(rows, df.height - rows)

    def _send(self, table: str, frame: object) -> None:
        import questdb

        try:
            with questdb.Sender.from_conf(self._sender_conf) as sender:
                sender.dataframe(frame, table_name=self._t(table), symbols=["symbol"], at="ts")
                sender.flush()
        except questdb.QuestDBError as exc:
            raise StoreError(f"QuestDB ILP at {self._where}: {exc}") from None

    async def delete(self, symbols: str | Iterable[str], start: TimeLike = None,
                     end: TimeLike = None) -> int:
        """Delete by rewriting each table without the rows (QuestDB has no row DELETE).

        QuestDB binds no variables in ``INSERT ... SELECT`` or ``CREATE TABLE ... AS``
        (questdb/questdb#5605), so the symbols go into a small table first (a bound INSERT)
        and the rewrite selects by ``symbol IN (SELECT ...)``, with the time bounds as integer
        nanoseconds cift formats itself: nothing the caller gives is formatted into SQL.
        Not atomic: do not write to the same tables meanwhile.
        """
        syms = normalize_symbols(symbols)
        if not syms:
            raise StoreError("delete needs at least one symbol")
        rng = TimeRange.of(start, end)
        await self._applied(*TABLES, "chunks")
        keys = self._t("delete_keys")
        await self._sql("execute", f"DROP TABLE IF EXISTS {keys}")
        await self._sql("execute", f"CREATE TABLE {keys} (symbol SYMBOL)")
        try:
            await self._sql("executemany", f"INSERT INTO {keys} VALUES ($1)",
                            [(s,) for s in syms])
            match = f"symbol IN (SELECT symbol FROM {keys})"
            if rng.start is not None:
                match += f" AND cast(ts AS LONG) >= {int(rng.start)}"
            if rng.end is not None:
                match += f" AND cast(ts AS LONG) < {int(rng.end)}"
            deleted = 0
            for table in TABLES:
                n = await self._sql("fetchval",
                                    f"SELECT count() FROM {self._t(table)} WHERE {match}")
                if n:
                    await self._rewrite(table, match)
                    deleted += n
            # forget the hashes of the days touched, so the data can be ingested again
            lo = (rng.start if rng.start is not None else 0) // _DAY_NS
            hi = ((rng.end - 1) // _DAY_NS) if rng.end is not None else 2**31 - 1
            chunks = self._t("chunks")
            await self._sql("execute", f"DROP TABLE IF EXISTS {chunks}_rewrite")
            await self._sql("execute", (
                f"CREATE TABLE {chunks}_rewrite AS (SELECT * FROM {chunks} WHERE NOT "
                f"(symbol IN (SELECT symbol FROM {keys}) AND day >= {int(lo)} "
                f"AND day <= {int(hi)})) TIMESTAMP(ts) PARTITION BY YEAR WAL"))
            await self._wait_applied("chunks_rewrite")
            await self._sql("execute", f"DROP TABLE {chunks}")
            await self._sql("execute", f"RENAME TABLE {chunks}_rewrite TO {chunks}")
        finally:
            await self._sql("execute", f"DROP TABLE IF EXISTS {keys}")
        return deleted

    async def _rewrite(self, table: str, match: str) -> None:
        """Replace ``table`` by a copy without the rows of ``match`` (bind-free SQL)."""
        t, tmp = self._t(table), self._t(f"{table}_rewrite")
        await self._sql("execute", f"DROP TABLE IF EXISTS {tmp}")
        cols = ", ".join(f"{c} {_VALUE_SQL[c]}" for c in _values(table))
        await self._sql("execute", (
            f"CREATE TABLE {tmp} (ts TIMESTAMP_NS, symbol SYMBOL, {cols}, seq LONG) "
            f"TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, symbol, seq)"))
        await self._sql("execute", f"INSERT INTO {tmp} SELECT * FROM {t} WHERE NOT ({match})")
        await self._wait_applied(f"{table}_rewrite")
        await self._sql("execute", f"DROP TABLE {t}")
        await self._sql("execute", f"RENAME TABLE {tmp} TO {t}")

    # -- reads ----------------------------------------------------------------------------
    def _where_clause(self, syms: list[str] | None, rng: TimeRange) -> tuple[str, list]:
        """WHERE for symbols and a range; bounds go in as naive UTC datetimes (whole
        microseconds, rounded outwards: callers apply the exact bounds to the rows)."""
        conds, args = [], []
        if syms is not None:
            marks = ", ".join(f"${len(args) + i + 1}" for i in range(len(syms)))
            conds.append(f"symbol IN ({marks})")
            args += syms
        if rng.start is not None:
            args.append(_naive_utc(rng.start, up=False))
            conds.append(f"ts >= ${len(args)}")
        if rng.end is not None:
            args.append(_naive_utc(rng.end, up=True))
            conds.append(f"ts < ${len(args)}")
        return (f" WHERE {' AND '.join(conds)}" if conds else ""), args

    async def _fetch(self, sql, syms: list[str] | None, rng: TimeRange) -> list:
        """The rows of ``sql(where)`` for the symbols and range, a query per group of
        symbols (see :func:`_in_groups`)."""
        rows = []
        for group in _in_groups(syms):
            where, args = self._where_clause(group, rng)
            rows += await self._sql("fetch", sql(where), *args)
        return rows

    async def _read(self, table: str, symbols, start, end, columns) -> pl.DataFrame:
        cols = normalize_columns(table, columns)
        syms = normalize_symbols(symbols)
        rng = TimeRange.of(start, end)
        values = _values(table)
        await self._applied(table)
        rows = await self._fetch(lambda where: (
            f"SELECT cast(ts AS LONG), symbol, {', '.join(values)} "
            f"FROM {self._t(table)}{where}"), syms, rng)
        schema = {"ts": pl.Int64, "symbol": pl.String, **{c: TABLES[table][c] for c in values}}
        if table == "ticks":
            schema["side"] = pl.Int64  # a LONG column in QuestDB
        df = rows_frame(rows, schema)
        df = df.with_columns(pl.col(c).cast(TABLES[table][c]) for c in ("ts", *values))
        exact = rng.expr()
        if exact is not None:
            df = df.filter(exact)
        return df.sort(["ts", "symbol"], maintain_order=True).select(cols)

    async def bars(self, symbols: str | Iterable[str] | None, interval: str,
                   start: TimeLike = None, end: TimeLike = None) -> pl.DataFrame:
        """Time bars by ``SAMPLE BY`` in QuestDB (aligned to UTC midnight)."""
        ns = interval_ns(interval)
        syms = normalize_symbols(symbols)
        rng = TimeRange.of(start, end)
        if rng.start is not None and rng.start % 1000 or rng.end is not None and rng.end % 1000:
            # bounds inside a microsecond: bar the exact ticks in cift instead
            return await super().bars(symbols, interval, start, end)
        await self._applied("ticks")
        rows = await self._fetch(lambda where: (
            f"SELECT cast(ts AS LONG), symbol, open, high, low, close, volume, vwap, trades "
            f"FROM (SELECT ts, symbol, first(price) open, max(price) high, min(price) low, "
            f"last(price) close, sum(size) volume, sum(price * size) / sum(size) vwap, "
            f"count() trades FROM {self._t('ticks')}{where} "
            f"SAMPLE BY {_sample_unit(ns)} ALIGN TO CALENDAR)"), syms, rng)
        schema = {**BARS, "ts": pl.Int64}
        df = rows_frame(rows, schema)
        return (df.with_columns(pl.col("ts").cast(BARS["ts"]))
                .sort(["ts", "symbol"], maintain_order=True))

    async def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last trade per symbol by ``LATEST ON ts PARTITION BY symbol``."""
        syms = normalize_symbols(symbols)
        await self._applied("ticks")
        rows = await self._fetch(lambda where: (
            f"SELECT symbol, cast(ts AS LONG), price, size, side FROM {self._t('ticks')}"
            f"{where} LATEST ON ts PARTITION BY symbol"), syms, TimeRange())
        schema = {"symbol": pl.String, "ts": pl.Int64, "price": pl.Float64,
                  "size": pl.Float64, "side": pl.Int64}
        df = rows_frame(rows, schema)
        return df.with_columns(pl.col("ts").cast(TICKS["ts"]),
                               pl.col("side").cast(TICKS["side"])).sort("symbol")

    async def catalog(self) -> pl.DataFrame:
        await self._applied(*TABLES)
        frames = []
        for table in TABLES:
            rows = await self._sql("fetch", (
                f"SELECT symbol, cast(min(ts) AS LONG), cast(max(ts) AS LONG), count() "
                f"FROM {self._t(table)}"))
            frames.append(pl.DataFrame(
                [(table, *r) for r in rows], orient="row",
                schema={"table": pl.String, "symbol": pl.String, "first_ts": pl.Int64,
                        "last_ts": pl.Int64, "rows": pl.Int64}).sort("symbol"))
        return pl.concat(frames).with_columns(pl.col("first_ts", "last_ts").cast(TICKS["ts"]))
