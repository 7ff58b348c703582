"""A grid gives the same metrics on every engine: Numba threads, processes, Dask."""

import distributed
import numpy as np
import polars as pl
import pytest

from cift.backtest import signal_grid
from cift.errors import CiftError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grid_inputs():
    rng = np.random.default_rng(4)
    n, m = 5000, 12
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    entries = rng.random((n, m)) < 0.02
    exits = rng.random((n, m)) < 0.02
    labels = pl.DataFrame({"combo": np.arange(m)})
    return close, entries, exits, labels


def test_processes_give_the_numba_result(grid_inputs):
    close, entries, exits, labels = grid_inputs
    want = signal_grid(close, entries, exits, fees_bps=1, labels=labels)
    got = signal_grid(close, entries, exits, fees_bps=1, labels=labels, engine="processes")
    assert got.equals(want)


def test_dask_local_cluster_gives_the_numba_result(grid_inputs):
    close, entries, exits, labels = grid_inputs
    want = signal_grid(close, entries, exits, fees_bps=1, labels=labels)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = signal_grid(close, entries, exits, fees_bps=1, labels=labels, engine=client)
    assert got.equals(want)


def test_unknown_engine(grid_inputs):
    close, entries, exits, _ = grid_inputs
    with pytest.raises(CiftError, match="engine"):
        signal_grid(close, entries, exits, engine="gpu")
