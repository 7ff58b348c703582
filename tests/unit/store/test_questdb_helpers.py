"""QuestDB adapter pieces that need no server (its integration runs in test_conformance
when CIFT_TEST_QUESTDB_URL names a server)."""

import datetime as dt

import polars as pl
import pytest
from servers import free_port

import cift
from cift.errors import StoreError
from cift.store.questdb import _naive_utc, _sample_unit


@pytest.mark.parametrize("ns, unit", [
    (86_400 * 10**9, "1d"), (3_600 * 10**9, "1h"), (5 * 60 * 10**9, "5m"), (90 * 10**9, "90s"),
    (250 * 10**6, "250T"), (1_500, "1500n"), (7 * 10**3, "7U"),
])
def test_sample_by_units(ns, unit):
    assert _sample_unit(ns) == unit


def test_bounds_are_naive_utc_rounded_outwards():
    ns = 1_704_207_600_123_456_789  # 2024-01-02 15:00:00.123456789 UTC
    lo, hi = _naive_utc(ns, up=False), _naive_utc(ns, up=True)
    assert lo.tzinfo is None and hi.tzinfo is None
    assert lo == dt.datetime(2024, 1, 2, 15, 0, 0, 123456)
    assert hi == dt.datetime(2024, 1, 2, 15, 0, 0, 123457)
    assert _naive_utc(ns - 789, up=True) == lo  # whole microseconds stay as they are


def test_unreachable_questdb_names_host_and_port():
    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        cift.connect(f"questdb://admin:pw-secret@127.0.0.1:{port}/qdb")


def test_bad_prefix_is_refused():
    with pytest.raises(StoreError, match="prefix"):
        cift.connect("questdb://127.0.0.1:1/qdb?prefix=a;drop")


class _RecordingPool:
    """Stands in for asyncpg's pool around the adapter: records every statement and its
    bind arguments; counts say 3 rows match, WAL tables are always applied."""

    def __init__(self, fail_on: str | None = None, failures: int = -1) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.fail_on = fail_on
        self.failures = failures  # how many times a statement with fail_on fails (-1: always)
        self.expired = 0

    async def expire_connections(self):
        self.expired += 1

    def is_closing(self):
        return False

    def acquire(self):
        pool = self

        class _Conn:
            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

            async def _run(self, sql, *args):
                pool.calls.append((sql, args))
                if pool.fail_on and pool.fail_on in sql and pool.failures:
                    pool.failures -= 1
                    raise OSError("connection lost")
                if sql.startswith("SELECT count()"):
                    return 3
                if "wal_tables()" in sql:
                    return (1, 1, False)
                return None

            execute = fetchval = fetchrow = _run

            async def fetch(self, sql, *args):
                await self._run(sql, *args)
                return []  # no rows

            async def executemany(self, sql, rows):
                for row in rows:
                    await self._run(sql, *row)

        return _Conn()


def _delete(pool, *args):
    import asyncio

    from cift.store.questdb import AsyncQuestDB

    store = AsyncQuestDB("questdb://localhost/qdb", pool, "", "t_")
    return asyncio.run(store.delete(*args))


def test_delete_binds_symbols_and_never_binds_into_insert_select():
    # QuestDB binds no variables in INSERT ... SELECT or CREATE TABLE ... AS (#5605): the
    # symbols go in by a bound INSERT and the rewrites name them by a subquery
    evil = "x'; DROP TABLE ticks; --"
    pool = _RecordingPool()
    assert _delete(pool, [evil, "ACME"], "2024-01-02", "2024-01-03") == 6  # 3 per table
    sqls = [sql for sql, _ in pool.calls]
    assert all(evil not in sql and "ACME" not in sql for sql in sqls)
    bound = {args[0] for sql, args in pool.calls if sql == "INSERT INTO t_delete_keys VALUES ($1)"}
    assert bound == {evil, "ACME"}
    copies = [sql for sql in sqls if "SELECT * FROM" in sql]
    assert len(copies) == 3  # ticks, quotes, chunks
    assert all("$" not in sql and "SELECT symbol FROM t_delete_keys" in sql for sql in copies)
    ns = 1_704_153_600_000_000_000  # 2024-01-02 UTC
    assert f"cast(ts AS LONG) >= {ns}" in copies[0]
    assert f"cast(ts AS LONG) < {ns + 86_400 * 10**9}" in copies[0]
    assert sqls[-1] == "DROP TABLE IF EXISTS t_delete_keys"


def test_delete_drops_its_symbol_table_when_it_fails():
    pool = _RecordingPool(fail_on="INSERT INTO t_ticks_rewrite")
    with pytest.raises(StoreError, match="connection lost"):
        _delete(pool, "ACME")
    assert pool.calls[-1][0] == "DROP TABLE IF EXISTS t_delete_keys"
    assert not any(sql.startswith("DROP TABLE t_ticks") for sql, _ in pool.calls)


def test_long_symbol_lists_are_bound_in_groups_and_empty_ones_ask_nothing():
    # a PG-wire statement takes at most 32767 parameters: 2,500 symbols go as 3 queries
    import asyncio

    from cift.data.schema import TICKS
    from cift.store.questdb import AsyncQuestDB

    pool = _RecordingPool()
    store = AsyncQuestDB("questdb://localhost/qdb", pool, "", "t_")
    names = [f"S{i}" for i in range(2_500)]
    for read in (store.ticks(names), store.latest(names), store.bars(names, "1m")):
        pool.calls.clear()
        assert asyncio.run(read).height == 0
        assert [len(args) for _, args in pool.calls] == [1_000, 1_000, 500]
        assert [a for _, args in pool.calls for a in args] == names
    pool.calls.clear()
    assert asyncio.run(store.ticks([])).schema == pl.Schema(TICKS)
    assert asyncio.run(store.latest([])).height == 0 and pool.calls == []


def test_a_lost_connection_is_retried_once_on_a_fresh_one():
    # a server restart: the pool's connections are expired and the statement runs again
    pool = _RecordingPool(fail_on="SELECT count() FROM t_quotes", failures=1)
    assert _delete(pool, "ACME") == 6
    assert pool.expired == 1
    assert sum(sql.startswith("SELECT count() FROM t_quotes") for sql, _ in pool.calls) == 2
    pool = _RecordingPool(fail_on="SELECT count() FROM t_quotes", failures=2)
    with pytest.raises(StoreError, match="lost the connection to QuestDB at localhost:8812"):
        _delete(pool, "ACME")
    assert pool.expired == 1


class _IlpSink:
    """A local HTTP endpoint that takes ILP/HTTP writes (204) and keeps their bodies: it
    stands in for QuestDB's /write around the adapter's use of the ``questdb`` client."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = self.bodies = []
        clients = self.clients = []  # the client port of each body (one per connection)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (the http.server name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    bodies.append(body)
                    clients.append(self.client_address[1])
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_large_batch_goes_in_requests_the_ilp_client_can_buffer():
    # the client buffers a request whole and refuses one over 100 MiB: 5M ticks (440 MB of
    # ILP) in one request failed before anything was sent
    import numpy as np
    import pandas as pd

    from cift.store.questdb import _ILP_ROWS, AsyncQuestDB, _sender_conf

    n = 1_300_000  # ~115 MB of ILP
    frame = pd.DataFrame({
        "ts": pd.to_datetime(1_700_000_000 * 10**9 + np.arange(n) * 1000, utc=True),
        "symbol": pd.Categorical(np.where(np.arange(n) % 2, "ACME", "BOLT")),
        "price": np.full(n, 101.25), "size": np.full(n, 100.0),
        "side": np.ones(n, np.int64), "seq": np.arange(n, dtype=np.int64)})
    sink = _IlpSink()
    store = AsyncQuestDB("questdb://127.0.0.1/qdb", None,
                         _sender_conf("127.0.0.1", sink.port, None, None), "")
    try:
        store._send("ticks", frame)
    finally:
        sink.server.shutdown()
        sink.server.server_close()
    sizes = [len(b) for b in sink.bodies]
    assert len(sizes) == -(-n // _ILP_ROWS)
    assert sum(sizes) > 100 * 2**20 > max(sizes)


def test_a_chunks_rows_get_the_same_keys_in_any_batch(market):
    # the upsert keys (ts, symbol, seq) must not depend on what else came in the batch: a
    # chunk sent with others, then again alone (say, after a failure part-way), upserts
    import polars as pl

    from cift.store.batches import Batch
    from cift.store.questdb import _ilp_frame

    ticks = market.ticks
    alone = ticks.filter(pl.col("symbol") == "BOLT")
    together, by_itself = (_ilp_frame("ticks", b, b.frame) for b in map(Batch.of, (ticks, alone)))
    bolt = together[together["symbol"] == "BOLT"].reset_index(drop=True)
    assert bolt["seq"].tolist() == by_itself["seq"].tolist()
    assert len(set(together["seq"])) == len(together)  # one key per row
    assert list(together.columns) == ["ts", "symbol", "price", "size", "side", "seq"]
    assert together["symbol"].astype(str).tolist() == ticks["symbol"].to_list()
    ts = together["ts"].dt.tz_convert(None).to_numpy().astype("int64")
    assert (ts == ticks["ts"].dt.epoch("ns").to_numpy()).all()


def test_ticks_go_over_ilp_with_nanosecond_times_and_symbol_tags(market):
    # what the installed questdb client makes of cift's frame: a line per tick, the symbol
    # as a tag, side and seq as integers, the designated time in nanoseconds ("n"), which
    # the TIMESTAMP_NS column keeps (a client sending microseconds would drop the last
    # three digits in silence)
    import re

    from cift.store.batches import Batch
    from cift.store.questdb import AsyncQuestDB, _ilp_frame, _sender_conf

    ticks = market.ticks
    batch = Batch.of(ticks)
    sink = _IlpSink()
    store = AsyncQuestDB("questdb://127.0.0.1/qdb", None,
                         _sender_conf("127.0.0.1", sink.port, None, None), "")
    try:
        store._send("ticks", _ilp_frame("ticks", batch, batch.frame))
    finally:
        sink.server.shutdown()
        sink.server.server_close()
    wire = b"".join(sink.bodies)
    symbols = [m.decode() for m in re.findall(rb"(?:^|\n)ticks,symbol=([^ ,]+) ", wire)]
    tails = re.findall(rb",side=(-?\d+)i,seq=(-?\d+)i (\d+)n\n", wire)
    assert symbols == ticks["symbol"].to_list()
    assert [int(t) for _, _, t in tails] == ticks["ts"].dt.epoch("ns").to_list()
    assert [int(side) for side, _, _ in tails] == ticks["side"].to_list()
    assert len({seq for _, seq, _ in tails}) == ticks.height


def test_a_write_returns_when_committed_and_reads_wait_until_it_is_applied(market):
    # ILP/HTTP answers once the rows are in the WAL; QuestDB applies them after: the write
    # does not wait for that (neither does the bare sender), this store's next read and
    # next manifest check do, once each
    import asyncio

    from cift.store.questdb import AsyncQuestDB, _sender_conf

    pool, sink = _RecordingPool(), _IlpSink()
    pool.close = lambda: asyncio.sleep(0)
    store = AsyncQuestDB("questdb://127.0.0.1/qdb", pool,
                         _sender_conf("127.0.0.1", sink.port, None, None), "t_")

    def waits():  # the tables whose WAL the store waited on, in order
        return [args[0] for sql, args in pool.calls if "wal_tables()" in sql]

    async def scenario():
        assert (await store.write_ticks(market.ticks)).rows == market.ticks.height
        assert waits() == [] and sink.bodies
        await store.ticks("ACME")
        assert waits() == ["t_ticks"]
        sqls = [sql for sql, _ in pool.calls]
        wait = next(i for i, sql in enumerate(sqls) if "wal_tables()" in sql)
        assert sqls[wait + 1].startswith("SELECT cast(ts AS LONG)")  # then the read
        await store.latest()
        await store.catalog()  # (quotes: never written, nothing to wait for)
        assert waits() == ["t_ticks"]
        await store.write_ticks(market.ticks.head(10))  # the manifest first
        assert waits() == ["t_ticks", "t_chunks"]
        await store.close()
        assert waits() == ["t_ticks", "t_chunks", "t_ticks", "t_chunks"]

    try:
        asyncio.run(scenario())
    finally:
        sink.server.shutdown()
        sink.server.server_close()


def test_a_batch_goes_on_two_connections_each_with_whole_symbol_days(market):
    # the chunks dealt to two senders side by side: every tick arrives once, and a
    # symbol-day's ticks all come on one connection, in their order (ties keep it)
    import asyncio
    import re

    from cift.store.questdb import AsyncQuestDB, _sender_conf

    pool, sink = _RecordingPool(), _IlpSink()
    store = AsyncQuestDB("questdb://127.0.0.1/qdb", pool,
                         _sender_conf("127.0.0.1", sink.port, None, None), "t_")
    try:
        asyncio.run(store.write_ticks(market.ticks))
    finally:
        sink.server.shutdown()
        sink.server.server_close()
    arrived: dict[tuple[str, int], list[tuple[int, int]]] = {}  # symbol-day: (client, ts)
    for client, body in zip(sink.clients, sink.bodies, strict=True):
        symbols = re.findall(rb"(?:^|\n)t_ticks,symbol=([^ ,]+) ", body)  # (doubles are binary)
        times = re.findall(rb",seq=-?\d+i (\d+)n\n", body)
        assert len(symbols) == len(times)
        for symbol, ts in zip(symbols, times, strict=True):
            arrived.setdefault((symbol.decode(), int(ts) // 86_400_000_000_000), []).append(
                (client, int(ts)))
    assert len(set(sink.clients)) == 2
    want = market.ticks.with_columns(day=pl.col("ts").dt.epoch("ns") // 86_400_000_000_000)
    assert sum(len(v) for v in arrived.values()) == market.ticks.height
    for (symbol, day), got in arrived.items():
        assert len({client for client, _ in got}) == 1
        rows = want.filter((pl.col("symbol") == symbol) & (pl.col("day") == day))
        assert [ts for _, ts in got] == rows["ts"].dt.epoch("ns").to_list()
