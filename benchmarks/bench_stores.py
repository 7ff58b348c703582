"""Benchmark cift's server stores against the raw clients a team would otherwise use.

Run:  python benchmarks/bench_stores.py [--ticks 5000000] [--repeat 3]

Starts a throwaway PostgreSQL and Redis (as the test suite does) unless CIFT_BENCH_POSTGRES_URL
/ CIFT_BENCH_REDIS_URL name servers; QuestDB runs when CIFT_BENCH_QUESTDB_URL is set. Side by
side in one process, each line prints cift, the peer and the ratio (higher is better for cift):
- ingest of N synthetic ticks vs raw asyncpg ``copy_records_to_table`` (records prepared
  outside the timing, a table with the same index);
- reading 1M ticks into Polars vs ``pl.read_database_uri(..., engine="adbc")``;
- the latest trade of one symbol vs a raw asyncpg prepared statement (queries/s, sequential);
- the latest trades of 100 symbols from the Redis cache vs from PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import polars as pl
from timing import best_pair  # benchmarks/timing.py: scripts run from this folder

import cift
from cift.data.synthetic import synthetic_market
from cift.store.postgres import AsyncPostgres

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


class Report:
    def __init__(self) -> None:
        print(f"{'benchmark':<46} {'cift':>14} {'peer':>14} {'ratio':>7}  peer / target")

    def line(self, name: str, ours: str, peer: str, ratio: float, note: str) -> None:
        print(f"{name:<46} {ours:>14} {peer:>14} {ratio:>6.2f}x  {note}", flush=True)


def rate(n: float, seconds: float, unit: str = "rows/s") -> str:
    return f"{n / seconds / 1e6:.2f}M {unit}" if n / seconds >= 1e5 else \
        f"{n / seconds / 1e3:.1f}k {unit}"


async def alternate(calls: list, k: int, rounds: int) -> list[float]:
    """Best time of ``k`` sequential awaits of each call, the calls taking turns round by
    round (so drifts in machine load hit all alike)."""
    best = [float("inf")] * len(calls)
    for _ in range(rounds):
        for j, call in enumerate(calls):
            t0 = time.perf_counter()
            for _ in range(k):
                await call()
            best[j] = min(best[j], time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=5_000_000, help="ticks to ingest")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    servers = []
    pg_url = os.environ.get("CIFT_BENCH_POSTGRES_URL")
    redis_url = os.environ.get("CIFT_BENCH_REDIS_URL")
    if pg_url is None or redis_url is None:
        import servers as test_servers  # tests/servers.py

        if pg_url is None:
            servers.append(test_servers.start_postgres())
            pg_url = servers[-1].url
        if redis_url is None:
            servers.append(test_servers.start_redis())
            redis_url = servers[-1].url
    try:
        run(pg_url, redis_url, args.ticks, args.repeat)
    finally:
        for s in servers:
            s.close()


async def settle(pg_url: str, schemas: list[str]) -> None:
    """Quiet the server between sections: drop the ingest's copies and vacuum what the reads
    use, so the 2 cores are not shared with autovacuum on millions of fresh rows and first
    reads do not set hint bits."""
    import asyncpg

    conn = await asyncpg.connect(pg_url)
    try:
        for schema in schemas:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.execute("DROP TABLE IF EXISTS peer_ticks")
        await conn.execute("VACUUM ANALYZE bench_read.ticks, peer_read")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def run(pg_url: str, redis_url: str, n_ticks: int, repeat: int) -> None:
    import asyncpg

    per_session = max(n_ticks // 100, 100)
    ticks = synthetic_market(20, 5, ticks_per_session=per_session, seed=1).ticks.head(n_ticks)
    n = ticks.height
    report = Report()

    # -- ingest -------------------------------------------------------------------------------
    records = list(ticks.iter_rows())
    peer_ddl = ("CREATE TABLE IF NOT EXISTS peer_ticks (ts timestamptz NOT NULL, "
                "symbol text NOT NULL, price float8 NOT NULL, size float8 NOT NULL, "
                "side int2 NOT NULL); CREATE INDEX IF NOT EXISTS peer_ticks_symbol_ts "
                "ON peer_ticks (symbol, ts)")

    async def peer_ingest() -> float:
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.execute(peer_ddl)
            await conn.execute("TRUNCATE peer_ticks")
            t0 = time.perf_counter()
            await conn.copy_records_to_table("peer_ticks", records=records)
            return time.perf_counter() - t0
        finally:
            await conn.close()

    def cift_ingest(i: int) -> float:
        with cift.connect(f"{pg_url}?schema=bench_ingest_{i}") as store:
            t0 = time.perf_counter()
            store.write_ticks(ticks)
            elapsed = time.perf_counter() - t0
            store.aio.schema  # noqa: B018
        return elapsed

    ours = peer = float("inf")
    for i in range(repeat):  # alternating: load drifts hit both alike
        ours = min(ours, cift_ingest(i))
        peer = min(peer, asyncio.run(peer_ingest()))
    report.line(f"PostgreSQL ingest {n / 1e6:.0f}M ticks", rate(n, ours), rate(n, peer),
                peer / ours, "asyncpg copy_records_to_table / >= 0.95x")

    # -- read 1M ticks ------------------------------------------------------------------------
    m = min(1_000_000, n)
    one_m = ticks.head(m)
    with cift.connect(f"{pg_url}?schema=bench_read") as store:
        if store.catalog()["rows"].sum() != m:
            store.write_ticks(one_m)

        async def peer_fill() -> None:
            conn = await asyncpg.connect(pg_url)
            await conn.execute("DROP TABLE IF EXISTS peer_read; CREATE TABLE peer_read "
                               "(LIKE peer_ticks INCLUDING INDEXES)")
            await conn.copy_records_to_table("peer_read", records=list(one_m.iter_rows()))
            await conn.close()

        asyncio.run(peer_fill())
        asyncio.run(settle(pg_url, [f"bench_ingest_{i}" for i in range(repeat)]))
        ours, peer = best_pair(lambda: store.ticks(), lambda: pl.read_database_uri(
            "SELECT ts, symbol, price, size, side FROM peer_read", pg_url, engine="adbc"),
            max(repeat, 5))
        report.line("PostgreSQL read 1M ticks into Polars", f"{ours * 1e3:.0f} ms",
                    f"{peer * 1e3:.0f} ms", peer / ours, "ADBC read_database_uri / >= 1x")

    # -- latest price, one symbol ---------------------------------------------------------------
    symbol = ticks["symbol"][0]
    # short blocks in many rounds: each call's best block falls in a quiet moment of this
    # shared 2-core machine (3000 queries in 5 rounds gave ratios from 0.71 to 1.50)
    k, rounds = 300, max(10 * repeat, 50)

    async def latest_rates() -> list[float]:
        store = await AsyncPostgres.open(f"{pg_url}?schema=bench_read")
        conn = await asyncpg.connect(pg_url)
        stmt = await conn.prepare("SELECT symbol, ts, price, size, side FROM peer_read "
                                  "WHERE symbol = $1 ORDER BY ts DESC LIMIT 1")
        await store.latest_trade(symbol), await stmt.fetchrow(symbol)  # warm both
        times = await alternate([lambda: store.latest_trade(symbol),
                                 lambda: store.latest(symbol),
                                 lambda: stmt.fetchrow(symbol)], k, rounds)
        await conn.close()
        await store.close()
        return times

    ours, frame, peer = asyncio.run(latest_rates())
    report.line("latest_trade, one symbol (sequential)", rate(k, ours, "q/s"),
                rate(k, peer, "q/s"), peer / ours, "asyncpg prepared fetchrow / >= 0.9x")
    report.line("latest() as a Polars frame, one symbol", rate(k, frame, "q/s"),
                rate(k, peer, "q/s"), peer / frame, "asyncpg prepared fetchrow / (info)")

    # the same through the synchronous store (a script's or a notebook's cift.connect),
    # against the raw prepared statement awaited on an event loop of its own
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(pg_url))
    stmt = loop.run_until_complete(conn.prepare(
        "SELECT symbol, ts, price, size, side FROM peer_read WHERE symbol = $1 "
        "ORDER BY ts DESC LIMIT 1"))

    async def peer_block() -> None:
        for _ in range(k):
            await stmt.fetchrow(symbol)

    def sync_block() -> None:
        for _ in range(k):
            store.latest_trade(symbol)

    with cift.connect(f"{pg_url}?schema=bench_read") as store:
        store.latest_trade(symbol)
        ours, peer = best_pair(sync_block, lambda: loop.run_until_complete(peer_block()), rounds)
    loop.run_until_complete(conn.close())
    loop.close()
    report.line("latest_trade through the sync store", rate(k, ours, "q/s"),
                rate(k, peer, "q/s"), peer / ours, "asyncpg prepared fetchrow / (info)")

    # -- latest of 100 symbols: Redis vs PostgreSQL -------------------------------------------
    many = synthetic_market(100, 1, ticks_per_session=2_000, seed=2).ticks
    symbols = sorted(set(many["symbol"]))
    k, rounds = 30, max(10 * repeat, 50)

    async def latest_many() -> list[float]:
        cached = await cift.connect_async(f"{pg_url}?schema=bench_latest", cache=redis_url)
        plain = cached.store
        await cached.write_ticks(many)
        a, b = await cached.latest(symbols), await plain.latest(symbols)
        assert a.equals(b) and a.height == 100
        times = await alternate([lambda: cached.latest(symbols), lambda: plain.latest(symbols)],
                                k, rounds)
        await cached.close()
        return times

    ours, peer = asyncio.run(latest_many())
    report.line("latest(), 100 symbols: Redis vs PostgreSQL", f"{ours / k * 1e6:.0f} us",
                f"{peer / k * 1e6:.0f} us", peer / ours, "cift on PostgreSQL / >= 5x")

    qdb_url = os.environ.get("CIFT_BENCH_QUESTDB_URL")
    if qdb_url:
        bench_questdb(qdb_url, ticks, repeat, report)
    else:
        print("QuestDB: skipped (set CIFT_BENCH_QUESTDB_URL=questdb://host:8812 to run it)")


def bench_questdb(url: str, ticks: pl.DataFrame, repeat: int, report: Report) -> None:
    """Ingest into QuestDB: cift (validation, hashes, ILP, the manifest) vs the bare Sender,
    both timed until QuestDB has committed the rows (its WAL applies them after)."""
    import uuid
    from urllib.parse import parse_qsl, urlsplit

    import questdb

    parts = urlsplit(url)
    http = dict(parse_qsl(parts.query)).get("http_port", "9000")
    frame = ticks.to_pandas()
    n = ticks.height

    def cift_ingest() -> float:
        sep = "&" if "?" in url else "?"
        with cift.connect(f"{url}{sep}prefix=b{uuid.uuid4().hex[:8]}_", cache=False) as store:
            t0 = time.perf_counter()
            store.write_ticks(ticks)
            return time.perf_counter() - t0

    def peer_ingest() -> float:
        t0 = time.perf_counter()
        # the flushing cift's sender uses: requests of 250k rows (the client refuses to buffer
        # more than 100 MiB, so a 5M-row frame cannot go in one)
        with questdb.Sender.from_conf(f"http::addr={parts.hostname}:{http};protocol_version=2;"
                                      f"auto_flush_rows=250000;auto_flush_interval=off;"
                                      f"auto_flush_bytes=off;") as sender:
            sender.dataframe(frame, table_name=f"peer_{uuid.uuid4().hex[:8]}",
                             symbols=["symbol"], at="ts")
            sender.flush()
        return time.perf_counter() - t0

    ours = min(cift_ingest() for _ in range(repeat))
    peer = min(peer_ingest() for _ in range(repeat))
    report.line(f"QuestDB ingest {n / 1e6:.0f}M ticks", rate(n, ours), rate(n, peer),
                peer / ours, "questdb Sender.dataframe / >= 0.9x")


if __name__ == "__main__":
    main()
