"""Sweeps: the metrics of each run, the same on every engine."""

import distributed
import numpy as np
import polars as pl
import pytest
from strategies import SMA_CROSS

from cift.backtest import GRID_METRICS, run, sweep
from cift.errors import CiftError

pytestmark = pytest.mark.slow
GRIDS = {"fast": [5, 10], "slow": [20, 40, 60]}


@pytest.fixture(scope="module")
def bars():
    rng = np.random.default_rng(8)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 4000)))
    return pl.DataFrame({"open": close * np.exp(rng.normal(0, 0.002, 4000)), "close": close})


@pytest.fixture(scope="module")
def numba_result(bars):
    return sweep(SMA_CROSS, bars, fees_bps=1, **GRIDS)


def test_each_row_is_that_run(bars, numba_result):
    assert numba_result.columns == ["fast", "slow", *GRID_METRICS]
    assert numba_result.height == 6
    for row in numba_result.iter_rows(named=True):
        m = run(SMA_CROSS, bars, fees_bps=1, fast=row["fast"], slow=row["slow"]).metrics
        for k in GRID_METRICS:
            assert row[k] == m[k] or (np.isnan(m[k]) and np.isnan(row[k])), k


def test_processes_engine(bars, numba_result):
    assert sweep(SMA_CROSS, bars, fees_bps=1, engine="processes", **GRIDS).equals(
        numba_result)


def test_dask_engine(bars, numba_result):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = sweep(SMA_CROSS, bars, fees_bps=1, engine=client, **GRIDS)
    assert got.equals(numba_result)


def test_sweep_errors(bars):
    with pytest.raises(CiftError, match="fast"):
        sweep(SMA_CROSS, bars, fast=[1, 5])  # checked before anything runs
    with pytest.raises(CiftError, match="grid"):
        sweep(SMA_CROSS, bars)
    with pytest.raises(CiftError, match="list"):
        sweep(SMA_CROSS, bars, fast=5)
    with pytest.raises(CiftError, match="engine"):
        sweep(SMA_CROSS, bars, engine="gpu", fast=[5])
    with pytest.raises(CiftError, match="slow: the grid has no values"):
        sweep(SMA_CROSS, bars, fast=[5], slow=[])  # (an empty frame, quietly)


@pytest.mark.parametrize("engine", ["numba", "processes"])
def test_bad_bars_or_settings_fail_once_before_the_pool(bars, caplog, engine):
    # a worker's error came back once per block, each block also printing a callback's
    # traceback ("exception calling callback"); the first run now goes in this process
    with pytest.raises(CiftError, match=r"bars: .*pandas.DataFrame \(polars.from_pandas"):
        sweep(SMA_CROSS, bars.to_pandas(), engine=engine, **GRIDS)
    with pytest.raises(CiftError, match="fees_bps"):
        sweep(SMA_CROSS, bars, engine=engine, fees_bps=-1, **GRIDS)
    assert not [r for r in caplog.records if r.name == "concurrent.futures"]


def test_runs_share_feature_columns(bars, numba_result, monkeypatch):
    # 2 fast x 3 slow lengths: 5 distinct SMA columns, not 12; on two threads a column can
    # be computed twice when both miss it at once, never more
    from cift import features

    calls = []
    sma = features.sma
    monkeypatch.setattr(features, "sma", lambda x, timeperiod: calls.append(timeperiod)
                        or sma(x, timeperiod))
    assert sweep(SMA_CROSS, bars, fees_bps=1, **GRIDS).equals(numba_result)
    assert sorted(set(calls)) == [5, 10, 20, 40, 60] and len(calls) <= 10
