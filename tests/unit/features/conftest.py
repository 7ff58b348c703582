"""The feature data sets as a fixture (market_data.py builds them)."""

import pytest
from market_data import DATASETS


@pytest.fixture(params=sorted(DATASETS))
def ohlcv(request) -> dict:
    return DATASETS[request.param]
