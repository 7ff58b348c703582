"""The sweep heatmap: a metric over two parameters, cell by cell."""

import numpy as np
import polars as pl
import pytest

from cift.backtest import sweep_heatmap
from cift.errors import ParameterError


def test_each_cell_is_its_combinations_metric():
    # hand-made grid, rows in no order, one combination missing (fast=20, slow=100)
    grid = pl.DataFrame({"fast": [10, 5, 20, 5, 10], "slow": [100, 50, 50, 100, 50],
                         "sharpe": [0.4, 0.1, 0.5, 0.3, -0.2], "trades": [3, 9, 1, 4, 6]})
    heat = sweep_heatmap(grid, "slow", "fast").data[0]
    assert heat.x == ("50", "100") and heat.y == ("5", "10", "20")  # ascending, as numbers
    np.testing.assert_array_equal(heat.z, [[0.1, 0.3], [-0.2, 0.4], [0.5, np.nan]])
    assert heat.zmid == 0.0  # a signed metric centres its colours on 0
    trades = sweep_heatmap(grid, "fast", "slow", metric="trades")
    np.testing.assert_array_equal(trades.data[0].z, [[9, 6, 1], [4, 3, np.nan]])
    assert trades.data[0].zmid is None and "trades by slow and fast" in trades.layout.title.text


def test_what_cannot_be_drawn_is_named():
    grid = pl.DataFrame({"fast": [5, 5], "slow": [50, 50], "fees": [1, 2], "sharpe": [0.1, 0.2]})
    with pytest.raises(ParameterError, match=r"several rows for one \(slow, fast\)"):
        sweep_heatmap(grid, "slow", "fast")
    with pytest.raises(ParameterError, match="metric: 'cagr' is not a column"):
        sweep_heatmap(grid.filter(pl.col("fees") == 1), "slow", "fast", metric="cagr")
    with pytest.raises(ParameterError, match="grid: expected the Polars frame"):
        sweep_heatmap(grid.to_pandas(), "slow", "fast")
