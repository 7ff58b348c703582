"""Shared fixtures: a small synthetic market and a fresh lake per test."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from cift.data.synthetic import SyntheticMarket, synthetic_market
from cift.store.lake import Lake

sys.path.insert(0, str(Path(__file__).parent))  # tests/servers.py


@pytest.fixture(scope="session")
def market() -> SyntheticMarket:
    """3 symbols x 2 sessions, a few thousand trades each: small, but every feature shows."""
    return synthetic_market(3, 2, ticks_per_session=3_000, seed=11)


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def filled_lake(lake, market) -> Lake:
    lake.write_ticks(market.ticks)
    lake.write_quotes(market.quotes)
    return lake


# -- real servers (session-scoped; see tests/servers.py) -----------------------------------
@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the whole session."""
    from servers import start_postgres

    server = start_postgres()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway Redis server for the whole session."""
    from servers import start_redis

    server = start_redis()
    yield server
    server.close()


@pytest.fixture
def pg_url(postgres_server) -> str:
    """A URL of the suite's PostgreSQL with a schema of its own (so tests never share data)."""
    return f"{postgres_server.url}?schema=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_url(redis_server) -> str:
    """The suite's Redis, emptied first (tests run one at a time)."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url
