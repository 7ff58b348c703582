"""The Redis hot cache on the suite's real Redis: write-through, newer-wins, pub/sub, faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import polars as pl
import pytest
import redis
from servers import free_port

import cift
from cift.errors import StoreError
from cift.store.cache import AsyncRedisCache

UTC = dt.UTC


def trades(day: int, price: float, symbols=("A", "B")) -> pl.DataFrame:
    t = dt.datetime(2024, 1, day, 15, tzinfo=UTC)
    return pl.DataFrame({"ts": [t] * len(symbols), "symbol": list(symbols),
                         "price": [price] * len(symbols), "size": [1.0] * len(symbols),
                         "side": [1] * len(symbols)})


def test_writes_go_through_and_latest_reads_the_cache(tmp_path, redis_url, market):
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        store.write_ticks(market.ticks)
        store.write_quotes(market.quotes)
    client = redis.Redis.from_url(redis_url)
    assert sorted(m.decode() for m in client.smembers("cift:symbols")) == ["ACME", "BOLT", "CRUX"]
    # the cache alone answers: change the lake behind its back and the cache still says so
    with cift.connect(str(tmp_path / "lake"), cache=False) as plain:
        plain.delete("ACME")
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        got = store.latest("ACME")
        assert got.height == 1
        want = market.ticks.filter(pl.col("symbol") == "ACME").tail(1)
        assert got.select("ts", "price", "size", "side").equals(
            want.select("ts", "price", "size", "side"))
        quotes = store.latest_quotes(["ACME", "NOPE"])
        assert quotes.drop("symbol").equals(
            market.quotes.filter(pl.col("symbol") == "ACME").tail(1).drop("symbol"))
        every = store.latest_quotes()  # every cached symbol, by name
        assert every["symbol"].to_list() == ["ACME", "BOLT", "CRUX"]
        assert every.drop("symbol").equals(
            market.quotes.group_by("symbol", maintain_order=True).last().sort("symbol")
            .drop("symbol").select(every.drop("symbol").columns))


def test_an_older_batch_never_replaces_a_newer_price(tmp_path, redis_url):
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        store.write_ticks(trades(3, 30.0))
        store.write_ticks(trades(2, 20.0))  # a backfill of an earlier day
        assert store.latest()["price"].to_list() == [30.0, 30.0]
        assert store.latest_trade("A").price == 30.0
        store.write_ticks(trades(4, 40.0, symbols=("B",)))
        assert store.latest()["price"].to_list() == [30.0, 40.0]


def test_symbols_missing_from_the_cache_come_from_the_store(pg_url, redis_url, market):
    with cift.connect(pg_url, cache=False) as store:
        store.write_ticks(market.ticks)  # written before the cache existed
    with cift.connect(pg_url, cache=redis_url) as store:
        want = market.ticks.group_by("symbol").last().select(
            "symbol", "ts", "price", "size", "side").sort("symbol")
        assert store.latest().equals(want)
    assert redis.Redis.from_url(redis_url).exists("cift:trade:BOLT")  # filled on the way


def test_delete_forgets_the_cached_price(tmp_path, redis_url):
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        store.write_ticks(trades(2, 20.0))
        store.write_ticks(trades(3, 30.0))
        store.delete("A", "2024-01-03")
        assert store.latest("A")["price"].to_list() == [20.0]  # from the store again


def test_changes_are_published(redis_url):
    async def main() -> list[tuple]:
        cache = await AsyncRedisCache.open(redis_url)
        got: list[tuple] = []

        async def follow() -> None:
            async for update in cache.updates("trade"):
                got.append(update)
                if len(got) == 2:
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.2)  # let the subscription reach the server
        assert await cache.put("ticks", trades(2, 20.0)) == 2
        assert await cache.put("ticks", trades(1, 10.0)) == 0  # older: no change, no message
        await asyncio.wait_for(task, 5)
        await cache.close()
        return got

    got = asyncio.run(main())
    ts = int(dt.datetime(2024, 1, 2, 15, tzinfo=UTC).timestamp()) * 10**9
    assert sorted(got) == [("A", ts, 20.0, 1.0, 1), ("B", ts, 20.0, 1.0, 1)]


def test_the_feed_holds_its_subscription_through_quiet(redis_url):
    # redis-py 8.0.0's listen() timed out after socket_timeout of quiet (5 s by default):
    # the retry reconnected and subscribed again, and changes published in between were
    # lost (hence redis>=8.0.1). The feed keeps its one connection through the quiet.
    probe = redis.Redis.from_url(redis_url)

    def connections() -> int:
        return probe.info("stats")["total_connections_received"]

    async def main() -> tuple[list[tuple], int]:
        cache = await AsyncRedisCache.open(f"{redis_url}?socket_timeout=0.3")
        got: list[tuple] = []

        async def follow() -> None:
            async for update in cache.updates("trade"):
                got.append(update)
                return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.2)  # let the subscription reach the server
        before = connections()
        await asyncio.sleep(1.0)  # quiet: three socket timeouts
        made = connections() - before
        assert await cache.put("ticks", trades(2, 20.0, symbols=("A",))) == 1
        await asyncio.wait_for(task, 5)
        await cache.close()
        return got, made

    got, made = asyncio.run(main())
    assert [u[0] for u in got] == ["A"] and made == 0


def test_unreachable_redis_is_one_clear_error(tmp_path):
    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        cift.connect(str(tmp_path / "lake"), cache=f"redis://:pw-secret@127.0.0.1:{port}/0")


def test_a_silent_redis_is_a_clear_error_not_a_hang(tmp_path):
    # a server that accepts connections and never answers (stopped, swapping): the kernel
    # completes the handshake on the listening socket; nobody reads
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        with pytest.raises(StoreError, match=f"Redis at 127.0.0.1:{port}: no answer in time"):
            cift.connect(str(tmp_path / "lake"),
                         cache=f"redis://127.0.0.1:{port}/0?socket_timeout=0.2")


def test_a_host_dropping_packets_is_a_clear_error_not_a_hang(tmp_path):
    # a listener whose accept queue is full drops new connections' SYNs, as a firewall or a
    # wrong address does
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full, \
            socket.create_connection(full.getsockname()):
        port = full.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0?socket_connect_timeout=0.2"
        with pytest.raises(StoreError, match=f"Redis at 127.0.0.1:{port}: no answer in time"):
            cift.connect(str(tmp_path / "lake"), cache=url)


def test_cache_argument_is_checked(tmp_path):
    with pytest.raises(StoreError, match="redis://"):
        cift.connect(str(tmp_path / "lake"), cache="postgresql://x")


def test_cache_from_the_environment(tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv("CIFT_REDIS_URL", redis_url)
    with cift.connect(str(tmp_path / "lake")) as store:
        store.write_ticks(trades(2, 20.0))
    assert redis.Redis.from_url(redis_url).exists("cift:trade:A")


def test_any_symbol_text_round_trips_through_the_cache(tmp_path, redis_url):
    odd = ("BRK.B", "^GSPC", "x'; DROP TABLE ticks; --", "ÄPFEL", "a b\r\n$3\r\nGET", "*2")
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        store.write_ticks(trades(2, 20.0, symbols=odd))
        got = store.latest([*odd, "MISSING"])
    assert got["symbol"].to_list() == sorted(odd)
    assert got["price"].to_list() == [20.0] * len(odd)
    # the cache answered: each symbol has its own entry
    client = redis.Redis.from_url(redis_url)
    assert all(client.exists(f"cift:trade:{s}") for s in odd)


def test_latest_survives_a_redis_restart(tmp_path, redis_server, redis_url):
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        store.write_ticks(trades(2, 20.0))
        assert store.latest("A")["price"].to_list() == [20.0]
        redis_server.stop()
        redis_server.start()  # in memory only: the restarted cache is empty
        assert store.latest(["A", "B"])["price"].to_list() == [20.0, 20.0]  # from the store
        store.write_ticks(trades(3, 30.0))
        assert store.latest("A")["price"].to_list() == [30.0]
    assert redis.Redis.from_url(redis_url).exists("cift:trade:A")


def test_a_cache_that_is_down_costs_its_speed_not_the_data(tmp_path, redis_server, redis_url):
    # latest() falls back to the store with a warning; a write says the rows are stored (it
    # read as if the write had failed) and writing again, once Redis is back, fills the cache
    with cift.connect(str(tmp_path / "lake"), cache=redis_url) as store:
        store.write_ticks(trades(2, 20.0))
        redis_server.stop()
        try:
            with pytest.warns(UserWarning, match="latest\\(\\) read from lake://"):
                assert store.latest(["A", "B"])["price"].to_list() == [20.0, 20.0]
            with pytest.raises(StoreError, match=r"the rows are stored in lake://.* \(2 new\), "
                                                 r"but the cache was not updated"):
                store.write_ticks(trades(3, 30.0))
        finally:
            redis_server.start()
        assert store.write_ticks(trades(3, 30.0)).skipped_rows == 2
        assert redis.Redis.from_url(redis_url).exists("cift:trade:A")
        assert store.latest("A")["price"].to_list() == [30.0]


def test_concurrent_and_cancelled_reads_each_get_their_own_answer(redis_url):
    """Reads share the cache's own connection when it is free and take pooled ones when it
    is not; a read cancelled mid-flight must not leave its reply for the next one."""
    symbols = [f"S{i:02d}" for i in range(40)]
    frame = pl.concat([trades(2, float(i), symbols=(s,)) for i, s in enumerate(symbols)])

    async def run() -> None:
        cache = await AsyncRedisCache.open(redis_url, prefix="lanes")
        try:
            await cache.put("ticks", frame)
            asks = [symbols[i:i + 7] for i in range(0, 40, 3)]
            for _ in range(3):
                got = await asyncio.gather(*[cache.get("trade", a) for a in asks])
                for ask, reply in zip(asks, got, strict=True):
                    assert reply["symbol"].to_list() == ask
                    assert reply["price"].to_list() == [float(symbols.index(s)) for s in ask]
            # cancelled at each step of its way (before sending, sent, reading); a cancel
            # that lands as the send completes is lost on Python 3.11 (wait_for), and the
            # read then simply finishes
            for steps in range(6):
                slow = asyncio.ensure_future(cache.get("trade", symbols))
                for _ in range(steps):
                    await asyncio.sleep(0)
                slow.cancel()
                try:
                    assert (await slow).height == 40
                except asyncio.CancelledError:
                    pass
                assert (await cache.get("trade", ["S05"]))["price"].to_list() == [5.0]
        finally:
            await cache.close()

    asyncio.run(run())


def test_a_closed_cache_says_so(redis_url):
    async def main():
        cache = await AsyncRedisCache.open(redis_url)
        await cache.get("trade", ["A"])  # its read connection is open now
        await cache.close()
        calls = [cache.get("trade", ["A"]), cache.symbols(), cache.forget(["A"]),
                 cache.put("ticks", trades(2, 1.0)), anext(cache.updates())]
        for call in calls:  # redis-py would quietly connect again
            with pytest.raises(StoreError, match="the cache is closed"):
                await call
    asyncio.run(main())


def test_a_prefix_in_the_url_keeps_two_teams_apart(tmp_path, redis_url):
    with cift.connect(str(tmp_path / "a"), cache=f"{redis_url}?prefix=desk2") as a:
        a.write_ticks(trades(2, 20.0))
    client = redis.Redis.from_url(redis_url)
    assert client.exists("desk2:trade:A") and not client.exists("cift:trade:A")
    with cift.connect(str(tmp_path / "b"), cache=redis_url) as b:  # the default namespace
        assert b.latest().height == 0  # its own lake is empty, and so is its namespace
    with pytest.raises(StoreError, match="prefix 'a b'"):
        cift.connect(str(tmp_path / "a"), cache=f"{redis_url}?prefix=a b")
    with pytest.raises(StoreError, match="unexpected keyword argument 'bogus'"):
        cift.connect(str(tmp_path / "a"), cache=f"{redis_url}?bogus=1")
