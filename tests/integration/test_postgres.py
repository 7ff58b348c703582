"""PostgreSQL adapter behaviour beyond the conformance suite: faults, migrations, async use."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import polars as pl
import pytest
from servers import free_port

import cift
from cift.errors import StoreError
from cift.store import postgres
from cift.store.postgres import MIGRATIONS, AsyncPostgres


def test_unreachable_server_names_host_and_port_not_password():
    port = free_port()
    with pytest.raises(StoreError) as err:
        cift.connect(f"postgresql://alice:s3cret-pw@127.0.0.1:{port}/db")
    assert f"127.0.0.1:{port}" in str(err.value)
    assert "s3cret-pw" not in str(err.value) and "s3cret-pw" not in repr(err.value)


def test_url_never_shows_the_password(pg_url):
    url = pg_url.replace("postgres@", "postgres:hunter2@")  # trust auth ignores it
    with cift.connect(url) as store:
        assert "hunter2" not in store.url and "hunter2" not in repr(store)


def test_sqlalchemy_style_urls_name_the_same_server(postgres_server, pg_url):
    with cift.connect(pg_url) as plain:
        plain.write_ticks(pl.DataFrame({"ts": [0], "symbol": ["A"], "price": [1.0],
                                        "size": [1.0], "side": [1]}).with_columns(
            pl.col("ts").cast(pl.Datetime("ns", "UTC"))))
    for driver in ("asyncpg", "psycopg", "psycopg2"):
        url = pg_url.replace("postgresql://", f"postgresql+{driver}://")
        assert url.startswith(f"postgresql+{driver}://")
        with cift.connect(url) as s:
            assert s.symbols() == ["A"]


def test_libpq_connection_parameters_asyncpg_lacks(pg_url):
    # team DSNs carry libpq's connect_timeout and keepalives: asyncpg sent them to the server
    # as settings, which refused the connection ("unrecognized configuration parameter")
    with cift.connect(f"{pg_url}&connect_timeout=5&sslmode=disable") as s:
        assert s.version() > 0
    with pytest.warns(UserWarning, match=r"\['keepalives', 'keepalives_idle'\] ignored"):
        with cift.connect(f"{pg_url}&keepalives=1&keepalives_idle=30&connect_timeout=0") as s:
            assert s.version() > 0
    with pytest.raises(StoreError, match="connect_timeout 'soon': expected seconds"):
        cift.connect(f"{pg_url}&connect_timeout=soon")


def test_a_silent_server_is_a_clear_timeout(tmp_path):
    # a server that accepts connections and never answers (the kernel completes the
    # handshake on the listening socket; nobody reads): the error says what to raise
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        with pytest.raises(StoreError, match=f"PostgreSQL at 127.0.0.1:{port}: no answer "
                                             r"within 0.3 s \(connect_timeout\)"):
            cift.connect(f"postgresql://u:pw@127.0.0.1:{port}/db?connect_timeout=0.3")


def test_a_script_that_exits_without_closing_its_stores_closes_them(tmp_path, pg_url,
                                                                    redis_url):
    # the connections go with a goodbye at exit (PostgreSQL logged each dropped one) and
    # the private loop is closed: Python warns of neither (ResourceWarnings shown: -W default)
    script = (f"import cift\n"
              f"from cift.data.synthetic import synthetic_market\n"
              f"ticks = synthetic_market(2, 1, ticks_per_session=50).ticks\n"
              f"pg = cift.connect({pg_url!r})\n"
              f"pg.write_ticks(ticks)\n"
              f"lake = cift.connect({str(tmp_path / 'lake')!r}, cache={redis_url!r})\n"
              f"lake.write_ticks(ticks)\n"
              f"print(pg.latest().height, lake.latest().height)\n")
    proc = subprocess.run([sys.executable, "-W", "default", "-c", script], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.split() == ["2", "2"], proc.stderr
    assert "ResourceWarning" not in proc.stderr, proc.stderr


def test_bad_schema_name_is_refused(postgres_server):
    with pytest.raises(StoreError, match="schema"):
        cift.connect(f"{postgres_server.url}?schema=x;drop")


def test_migrations_are_versioned_and_idempotent(pg_url):
    with cift.connect(pg_url) as store:
        assert store.version() == max(v for v, _, _ in MIGRATIONS)
        assert store.migrate() == []
        # (the adapter's extras, run to completion, keep their docstrings for help())
        assert store.migrate.__doc__ == store.aio.migrate.__doc__ and store.migrate.__doc__


def test_a_read_only_role_reads_a_schema_made_by_another(postgres_server, pg_url, market):
    # a team's analysts connect with SELECT alone: connecting ran the migration's DDL
    # (CREATE SCHEMA IF NOT EXISTS needs CREATE on the database) and was refused
    import uuid

    import asyncpg

    with cift.connect(pg_url, cache=False) as owner:
        owner.write_ticks(market.ticks)
    schema, role = pg_url.rsplit("schema=", 1)[1], f"reader_{uuid.uuid4().hex[:8]}"

    async def grant() -> None:
        conn = await asyncpg.connect(postgres_server.url)
        await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
        await conn.close()
    asyncio.run(grant())
    url = pg_url.replace("postgres@", f"{role}:pw@", 1)
    with cift.connect(url, cache=False) as reader:
        assert reader.ticks().equals(market.ticks)
        assert reader.latest().height == market.ticks["symbol"].n_unique()
        with pytest.raises(StoreError, match="permission denied"):
            reader.write_ticks(market.ticks.head(3).with_columns(pl.col("price") + 1))
    assert reader.url.startswith("postgresql://") and "pw" not in reader.url


def test_a_timescaledb_that_cannot_be_used_leaves_plain_tables_and_a_warning(
        postgres_server, market, monkeypatch):
    # this server has no TimescaleDB: told that it does, CREATE EXTENSION fails as it does
    # where the extension is installed but not preloaded, or the role may not create it
    monkeypatch.setattr(postgres, "_TIMESCALE_OFFERED", "SELECT true")
    with pytest.warns(UserWarning, match="TimescaleDB is installed but cannot be used"):
        store = cift.connect(f"{postgres_server.url}?schema=no_timescale")
    with store:
        assert store.version() == max(v for v, _, _ in MIGRATIONS)
        store.write_ticks(market.ticks)
        assert store.ticks().equals(market.ticks)


def test_a_write_failing_half_way_leaves_nothing(pg_url, market, monkeypatch):
    monkeypatch.setattr(postgres, "_PIECE_ROWS", 1000)  # the stream in many pieces
    with cift.connect(pg_url) as store:
        acme = pl.col("symbol") == "ACME"
        store.write_ticks(market.ticks.filter(acme))
        assert store.ticks().equals(market.ticks.filter(acme))
        rest = market.ticks.filter(~acme)
        before, catalog = store.ticks(), store.catalog()
        real = postgres._encode

        def truncated(*args, **kwargs):  # the COPY stream breaks after the hashes are claimed
            pieces = [piece.copy() for piece in real(*args, **kwargs)]
            assert len(pieces) > 5
            yield from pieces[:-2]  # the server has taken thousands of rows when it breaks
            yield pieces[-2][: len(pieces[-2]) // 2 + 7]  # (mid-row)

        monkeypatch.setattr(postgres, "_encode", truncated)
        with pytest.raises(StoreError, match="PostgreSQL"):
            store.write_ticks(rest)
        monkeypatch.setattr(postgres, "_encode", real)
        assert store.ticks().equals(before) and store.catalog().equals(catalog)
        # the failed batch's hashes were rolled back too: it can be written now
        assert store.write_ticks(rest).rows == rest.height


def test_the_pool_survives_a_server_restart(postgres_server, pg_url, market):
    with cift.connect(pg_url) as store:
        store.write_ticks(market.ticks)
        want = store.ticks("ACME")
        trade = store.latest_trade("ACME")  # opens the reserved hot-path connection
        postgres_server.stop()
        postgres_server.start()
        assert store.ticks("ACME").equals(want)
        assert store.latest_trade("ACME") == trade
        assert store.latest("ACME").height == 1


def test_a_read_in_halves_of_an_analyzed_table_leaves_its_connections_as_they_were(
        postgres_server, pg_url, market):
    # halves read by the index (SET LOCAL in a transaction of their own): the rows as
    # written, and the pooled connections back to plain settings and no open transaction
    import asyncio

    import asyncpg

    from cift.store.aio import run_sync

    with cift.connect(pg_url, cache=False) as store:
        store.write_ticks(market.ticks)

        async def analyze():
            conn = await asyncpg.connect(postgres_server.url)
            await conn.execute(f"VACUUM ANALYZE {store.aio.schema}.ticks")
            await conn.close()

        asyncio.run(analyze())
        assert store.ticks().equals(market.ticks)
        assert store.ticks(["ACME", "BOLT"]).equals(
            market.ticks.filter(pl.col("symbol").is_in(["ACME", "BOLT"])))

        async def states():  # every connection the pool holds (the halves' among them)
            pool = store.aio._pool
            held = [await pool.acquire() for _ in range(pool.get_max_size())]
            try:
                return {(await c.fetchval("SHOW enable_seqscan"), c.is_in_transaction())
                        for c in held}
            finally:
                for c in held:
                    await pool.release(c)

        assert run_sync(states()) == {("on", False)}


def test_bars_of_symbols_read_alone_or_together_are_the_same(pg_url, market, monkeypatch):
    import cift.store.aio as aio
    from cift.data.bars import time_bars

    want = time_bars(market.ticks, "5m")
    with cift.connect(pg_url, cache=False) as store:
        store.write_ticks(market.ticks)
        # one symbol a read, two then one, all in one read
        for limit in (1, market.ticks.height * 2 // 3, 10**9):
            monkeypatch.setattr(aio, "_BAR_READ_ROWS", limit)
            assert store.bars(None, "5m").equals(want)
            assert store.bars(["CRUX", "ACME", "BOLT"], "5m").equals(want)


def test_a_closed_store_says_so(pg_url):
    store = cift.connect(pg_url, cache=False)
    store.close()
    for call in (lambda: store.ticks("ACME"), lambda: store.latest_trade("ACME"), store.latest):
        with pytest.raises(StoreError, match="the store is closed"):
            call()


def test_stores_dropped_without_close_give_their_connections_back(postgres_server, pg_url):
    # a notebook cell `store = cift.connect(url)` run again and again: each run drops the
    # last store unclosed; the server must not keep a connection per run
    import gc

    import asyncpg

    async def connections() -> int:
        conn = await asyncpg.connect(postgres_server.url)
        try:
            return await conn.fetchval("SELECT count(*) - 1 FROM pg_stat_activity "
                                       "WHERE backend_type = 'client backend'")
        finally:
            await conn.close()

    async def drop_async_stores() -> None:
        for _ in range(5):
            store = await cift.connect_async(pg_url, cache=False)
            await store.symbols()
        del store
        gc.collect()
        await asyncio.sleep(0.05)  # the loop turns: the terminations run

    before = asyncio.run(connections())
    for _ in range(5):
        store = cift.connect(pg_url, cache=False)
        store.symbols()
    del store
    gc.collect()
    with cift.connect(pg_url, cache=False) as last:  # the private loop turns again
        last.symbols()
    assert asyncio.run(connections()) <= before  # (others may close meanwhile, never open)
    asyncio.run(drop_async_stores())
    assert asyncio.run(connections()) <= before  # (others may close meanwhile, never open)


def test_async_store_in_an_event_loop(pg_url, market):
    async def main() -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
        store = await cift.connect_async(pg_url)
        assert isinstance(store, AsyncPostgres)
        try:
            await store.write_ticks(market.ticks)
            # concurrent reads share the pool
            ticks, latest = await asyncio.gather(store.ticks("BOLT"), store.latest())
            return ticks, latest, await store.symbols()
        finally:
            await store.close()

    ticks, latest, symbols = asyncio.run(main())
    assert ticks.equals(market.ticks.filter(pl.col("symbol") == "BOLT"))
    assert latest.height == 3 and symbols == ["ACME", "BOLT", "CRUX"]


def test_latest_of_one_symbol_equals_its_row_of_the_many_symbol_query(pg_url, market):
    ticks = market.ticks.filter(pl.col("symbol") != "CRUX")  # CRUX: quotes only
    quotes = market.quotes.filter(pl.col("symbol") == "CRUX")

    async def main() -> tuple:
        store = await cift.connect_async(pg_url)
        try:
            await store.write_ticks(ticks)
            await store.write_quotes(quotes)
            every = await store.latest(["ACME", "BOLT", "CRUX"])  # symbol ids now known
            # one symbol takes the prepared probe; concurrent calls share or bypass it
            ones = await asyncio.gather(*(store.latest(s) for s in ("ACME", "BOLT", "ACME")))
            return every, ones, await store.latest("CRUX"), await store.latest("NOPE")
        finally:
            await store.close()

    every, (acme, bolt, acme_again), crux, nope = asyncio.run(main())
    last = ticks.group_by("symbol").agg(pl.all().last()).sort("symbol")
    assert every.equals(last.select(every.columns))
    assert acme.equals(every[0]) and bolt.equals(every[1]) and acme_again.equals(acme)
    assert crux.height == 0 and nope.height == 0 and crux.schema == every.schema


def test_async_lake_runs_in_threads(tmp_path, market):
    async def main() -> pl.DataFrame:
        store = await cift.connect_async(str(tmp_path / "lake"))
        await store.write_ticks(market.ticks)
        return await store.ticks("CRUX")

    assert asyncio.run(main()).equals(market.ticks.filter(pl.col("symbol") == "CRUX"))


def test_two_stores_share_one_database(pg_url, market):
    with cift.connect(pg_url) as writer, cift.connect(pg_url) as reader:
        assert reader.symbols() == []
        writer.write_ticks(market.ticks)
        assert reader.ticks().height == market.ticks.height  # ids learned from the server
