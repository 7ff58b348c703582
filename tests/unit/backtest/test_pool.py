"""engine="processes": a worker that dies is a clear error."""

import os

import pytest

from cift.backtest.pool import process_pool
from cift.errors import CiftError


def test_a_worker_that_dies_is_a_clear_error():
    with pytest.raises(CiftError, match=r"worker process died.*if __name__ == \"__main__\""):
        with process_pool(1) as pool:
            pool.submit(os._exit, 1).result()  # (as a worker that re-ran a script dies)


def test_the_workers_run_and_errors_of_the_work_are_its_own():
    with process_pool(1) as pool:
        assert pool.submit(abs, -3).result() == 3
        with pytest.raises(TypeError):  # (not taken for a dead worker)
            pool.submit(abs, "x").result()
