"""Strategy definitions' feature matrix and the cache that sweeps share it through."""

import numpy as np
import polars as pl

from cift import features
from cift.strategy import FeatureCache, Param, Strategy, Use


def column(n: int, value: float = 1.0) -> np.ndarray:
    return np.full(n, value)


def test_cache_keeps_the_recently_used_within_its_budget():
    cache = FeatureCache(budget=3 * 800)  # three columns of 100 floats
    for k in range(3):
        cache.put(("c", k), column(100, k))
    assert cache.get(("c", 0))[0] == 0  # now the most recently used
    cache.put(("c", 3), column(100, 3))  # over the budget: the least recently used goes
    assert cache.get(("c", 1)) is None
    assert [cache.get(("c", k))[0] for k in (0, 2, 3)] == [0, 2, 3]
    cache.put(("big",), column(400))  # alone over the budget: not kept, nothing dropped
    assert cache.get(("big",)) is None and cache.get(("c", 0)) is not None
    cache.put(("c", 0), column(100, 9))  # a key already kept keeps its first column
    assert cache.get(("c", 0))[0] == 0


def test_feature_matrix_shares_columns_by_feature_inputs_and_parameters(monkeypatch):
    rng = np.random.default_rng(2)
    close = 100 + np.cumsum(rng.normal(0, 1, 500))
    bars = pl.DataFrame({"close": close, "high": close + 1, "low": close - 1})
    strategy = Strategy("x", (Param("fast", 10, 2, 100), Param("slow", 30, 2, 100)),
                        {"fast": Use("sma", timeperiod="fast"),
                         "slow": Use("sma", timeperiod="slow"),
                         "hi": Use("sma", timeperiod="fast", inputs={"real": "high"})},
                        lambda row, position, cash, params: 0.0)
    calls = []
    sma = features.sma
    monkeypatch.setattr(features, "sma", lambda x, timeperiod: calls.append(timeperiod)
                        or sma(x, timeperiod))
    cache = FeatureCache()
    first = strategy.feature_matrix(bars, strategy.bind(fast=10, slow=30), cache)
    second = strategy.feature_matrix(bars, strategy.bind(fast=10, slow=40), cache)
    # the second call computes only the column whose parameter changed
    assert calls == [10, 30, 10, 40]
    want = np.column_stack([sma(close, 10), sma(close, 40), sma(close + 1, 10)])
    np.testing.assert_array_equal(second, want)
    np.testing.assert_array_equal(first[:, [0, 2]], second[:, [0, 2]])
    assert not np.array_equal(first[:, 1], second[:, 1], equal_nan=True)
    # without a cache every column is computed
    strategy.feature_matrix(bars, strategy.bind(fast=10, slow=40))
    assert calls[4:] == [10, 40, 10]
