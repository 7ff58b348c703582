"""Shared fixtures: a small synthetic market and a fresh lake per test."""

from __future__ import annotations

import pytest

from cift.data.synthetic import SyntheticMarket, synthetic_market
from cift.store.lake import Lake


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
