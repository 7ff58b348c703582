"""The Polars namespace gives the NumPy API's values, per group with .over()."""

import numpy as np
import polars as pl
import pytest

from cift import features as ta
from cift.data.bars import time_bars
from cift.errors import ParameterError


@pytest.fixture
def bars(market):
    return time_bars(market.ticks, "1m")


def per_symbol(bars, fn):
    out = np.empty(bars.height)
    for (sym,), idx in bars.with_row_index().group_by("symbol"):
        rows = idx["index"].to_numpy()
        out[rows] = fn(idx)
    return out


def test_single_input_over_symbol(bars):
    got = bars.with_columns(e=pl.col("close").cift.ema(10).over("symbol"))["e"].to_numpy()
    ref = per_symbol(bars, lambda g: ta.ema(g["close"], 10))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=0)


def test_other_inputs_default_to_their_columns_or_are_named(bars):
    one = bars.filter(pl.col("symbol") == "ACME")
    ref = ta.atr(one["high"], one["low"], one["close"], 5)
    by_default = one.select(pl.col("close").cift.atr(5)).to_series().to_numpy()
    renamed = one.rename({"high": "h"}).select(pl.col("close").cift.atr(timeperiod=5, high="h"))
    np.testing.assert_array_equal(by_default, ref)
    np.testing.assert_array_equal(renamed.to_series().to_numpy(), ref)


def test_several_outputs_give_a_struct(bars):
    one = bars.filter(pl.col("symbol") == "ACME")
    got = one.select(m=pl.col("close").cift.macd(5, 10, 3)).unnest("m")
    assert got.columns == ["macd", "macdsignal", "macdhist"]
    np.testing.assert_array_equal(got["macdhist"].to_numpy(), ta.macd(one["close"], 5, 10, 3)[2])


def test_bad_parameters_fail_when_the_expression_is_built():
    with pytest.raises(ParameterError, match="^timeperiod:"):
        pl.col("close").cift.rsi(0)
    with pytest.raises(ParameterError, match="^sma:"):
        pl.col("close").cift.sma(5, 6)
    with pytest.raises(ParameterError, match="^sma: unexpected"):
        pl.col("close").cift.sma(window=5)


def test_a_wide_panel_column_that_starts_late_gets_values_after_its_nulls():
    # a joined panel: the later-listed symbol's column is null until its first bar; as in
    # TA-Lib, its series starts there (the rows before are NaN, none after is lost)
    close = 100 + np.cumsum(np.random.default_rng(3).normal(0, 1, 60))
    panel = pl.DataFrame({"early": close, "late": [None] * 25 + close[25:].tolist()})
    got = panel.select(pl.col("late").cift.sma(5)).to_series().to_numpy()
    assert np.isnan(got[:29]).all()
    np.testing.assert_allclose(got[29:], ta.sma(close[25:], 5)[4:], rtol=1e-12)
