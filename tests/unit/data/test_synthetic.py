import numpy as np
import polars as pl
import pytest

from cift.data.schema import QUOTES, TICKS
from cift.data.synthetic import synthetic_market
from cift.errors import ParameterError


def test_schema_order_and_determinism(market):
    assert market.ticks.schema == pl.Schema(TICKS)
    assert market.quotes.schema == pl.Schema(QUOTES)
    for df in market:
        keys = df.select(pl.col("ts").to_physical(), "symbol").rows()
        assert keys == sorted(keys)  # time order, ties by symbol
    again = synthetic_market(3, 2, ticks_per_session=3_000, seed=11)
    assert again.ticks.equals(market.ticks) and again.quotes.equals(market.quotes)
    other = synthetic_market(3, 2, ticks_per_session=3_000, seed=12)
    assert not other.ticks.equals(market.ticks)


def test_same_market_on_any_number_of_threads():
    import numba

    threads = numba.get_num_threads()
    parallel = synthetic_market(7, 2, ticks_per_session=3000, seed=4)
    try:
        numba.set_num_threads(1)  # one group: every symbol simulated in one pass
        serial = synthetic_market(7, 2, ticks_per_session=3000, seed=4)
    finally:
        numba.set_num_threads(threads)
    assert parallel.ticks.equals(serial.ticks) and parallel.quotes.equals(serial.quotes)


def test_ties_in_time_are_ordered_by_symbol():
    m = synthetic_market(["ZED", "ALF", "MID"], 1, ticks_per_session=20_000, seed=3)
    keys = m.quotes.select(pl.col("ts").to_physical(), "symbol").rows()
    assert keys == sorted(keys)
    assert set(m.ticks["symbol"]) == {"ZED", "ALF", "MID"}


def test_sessions_are_weekdays_within_hours(market):
    ts = market.ticks["ts"]
    assert set(ts.dt.weekday().unique()) <= {1, 2, 3, 4, 5}
    assert ts.dt.date().n_unique() == 2
    minutes = (ts.dt.hour().cast(pl.Int32) * 60 + ts.dt.minute().cast(pl.Int32))
    assert minutes.min() >= 14 * 60 + 30 and minutes.max() < 21 * 60


def test_prices_on_tick_grid_and_trades_at_touch(market):
    for col in (market.ticks["price"], market.quotes["bid_px"], market.quotes["ask_px"]):
        cents = col.to_numpy() * 100
        assert np.abs(cents - np.round(cents)).max() < 1e-6
    q = market.quotes
    assert (q["ask_px"] > q["bid_px"]).all()
    assert (q["bid_sz"] > 0).all() and (q["ask_sz"] > 0).all()
    assert (market.ticks["size"] % 100 == 0).all() and (market.ticks["size"] > 0).all()
    # each trade prints at the touch of the quote at its timestamp (same event row)
    joined = market.ticks.join(q, on=["ts", "symbol"], how="left")
    buys = joined.filter(pl.col("side") == 1)
    sells = joined.filter(pl.col("side") == -1)
    assert (buys["price"] == buys["ask_px"]).all() and (sells["price"] == sells["bid_px"]).all()


def test_u_shaped_activity():
    m = synthetic_market(5, 3, ticks_per_session=20_000, seed=5)
    minute = ((m.ticks["ts"].dt.hour().cast(pl.Int32) * 60 + m.ticks["ts"].dt.minute()
               .cast(pl.Int32)) - (14 * 60 + 30))
    open_30 = (minute < 30).sum()
    mid_30 = ((minute >= 180) & (minute < 210)).sum()
    close_30 = (minute >= 360).sum()
    assert open_30 > 2 * mid_30 and close_30 > 2 * mid_30


def test_trade_signs_follow_quote_imbalance():
    m = synthetic_market(4, 2, ticks_per_session=20_000, seed=9)
    # the quote in force before each trade: the previous quote row of that symbol
    q = m.quotes.with_columns(
        imbalance=((pl.col("bid_sz") - pl.col("ask_sz")) / (pl.col("bid_sz") + pl.col("ask_sz")))
        .shift(1).over("symbol"))
    j = m.ticks.join(q.select("ts", "symbol", "imbalance"), on=["ts", "symbol"]).drop_nulls()
    corr = np.corrcoef(j["imbalance"].to_numpy(), j["side"].to_numpy())[0, 1]
    assert corr > 0.1


def test_volatility_clusters_and_gaps():
    m = synthetic_market(6, 4, ticks_per_session=10_000, seed=21)
    mids = m.quotes.with_columns(mid=(pl.col("bid_px") + pl.col("ask_px")) / 2)
    bars = mids.group_by("symbol", pl.col("ts").dt.truncate("5m")).agg(
        pl.col("mid").log().diff().pow(2).sum().alias("rv")).sort("symbol", "ts")
    rv = bars.with_columns(prev=pl.col("rv").shift(1).over("symbol")).drop_nulls()
    assert np.corrcoef(rv["rv"].to_numpy(), rv["prev"].to_numpy())[0, 1] > 0.2  # clustering
    gaps = m.quotes.with_columns(gap=pl.col("ts").diff().over("symbol", pl.col("ts").dt.date()))
    assert (gaps["gap"].dt.total_minutes() >= 5).sum() >= 1  # at least one halt


def test_symbol_names_and_order_with_many_symbols():
    m = synthetic_market(30, 1, ticks_per_session=200, seed=2)
    names = m.quotes["symbol"].unique().to_list()
    assert "ACME" in names and "SYM029" in names
    for df in m:  # the merge of 30 symbols (not a power of two) keeps time order, ties by name
        keys = df.select(pl.col("ts").to_physical(), "symbol").rows()
        assert keys == sorted(keys)


@pytest.mark.parametrize("kwargs,match", [
    ({"symbols": 0}, "symbols"), ({"symbols": 65_537}, "symbols"),
    ({"symbols": ["A", "A"]}, "symbols"),
    ({"sessions": 0}, "sessions"), ({"ticks_per_session": 0}, "ticks_per_session"),
    ({"quotes_per_trade": 0.5}, "quotes_per_trade"), ({"session_length": "25h"}, "session"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        synthetic_market(**kwargs)


def test_a_symbols_data_does_not_depend_on_the_other_symbols():
    small = synthetic_market(2, 2, ticks_per_session=2_000, seed=5)
    big = synthetic_market(6, 2, ticks_per_session=2_000, seed=5)
    for name in ("ACME", "BOLT"):
        for a, b in zip(small, big, strict=True):
            assert a.filter(pl.col("symbol") == name).equals(b.filter(pl.col("symbol") == name))


def test_event_counts_follow_the_parameters():
    m = synthetic_market(26, 2, ticks_per_session=2_000, quotes_per_trade=4.0, seed=8)
    per_symbol_day = m.quotes.height / (26 * 2)
    assert 0.7 * 8_000 < per_symbol_day < 1.3 * 8_000  # activity differs by symbol, mean 1
    assert abs(m.ticks.height / m.quotes.height - 0.25) < 0.01
