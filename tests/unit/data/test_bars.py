import numpy as np
import pandas as pd
import polars as pl
import pytest

from cift.data.bars import (
    apply_tick_rule, dollar_bars, symbol_time_bars, tick_rule, time_bars, volume_bars,
)
from cift.data.schema import BARS, TS
from cift.errors import DataError, ParameterError


def frame(ts, symbol, price, size, side=None):
    return pl.DataFrame({"ts": pl.Series(ts, dtype=pl.Int64).cast(TS), "symbol": symbol,
                         "price": [float(p) for p in price], "size": [float(s) for s in size],
                         "side": pl.Series(side or [0] * len(ts), dtype=pl.Int8)})


def pandas_time_bars(ticks: pl.DataFrame, rule: str) -> pl.DataFrame:
    """Independent reference: pandas groupby + resample, empty bars dropped."""
    df = ticks.to_pandas().set_index("ts")
    df["notional"] = df["price"] * df["size"]
    out = []
    for sym, g in df.groupby("symbol"):
        r = g.resample(rule, origin="epoch")
        bars = pd.DataFrame({
            "open": r["price"].first(), "high": r["price"].max(), "low": r["price"].min(),
            "close": r["price"].last(), "volume": r["size"].sum(),
            "vwap": r["notional"].sum() / r["size"].sum(), "trades": r["price"].count()})
        bars = bars[bars["trades"] > 0].reset_index()
        bars["symbol"] = sym
        out.append(bars)
    ref = pl.from_pandas(pd.concat(out))
    return ref.with_columns(pl.col("ts").cast(TS), pl.col("trades").cast(pl.Int64)).select(
        list(BARS)).sort(["ts", "symbol"])


@pytest.mark.parametrize("rule,interval", [("1s", "1s"), ("1min", "1m"), ("5min", "5m"),
                                           ("1h", "1h"), ("24h", "1d")])
def test_time_bars_match_pandas(market, rule, interval):
    got = time_bars(market.ticks, interval)
    ref = pandas_time_bars(market.ticks, rule)
    assert got.schema == pl.Schema(BARS)
    assert got.select("ts", "symbol", "trades").equals(ref.select("ts", "symbol", "trades"))
    for c in ("open", "high", "low", "close", "volume", "vwap"):
        np.testing.assert_allclose(got[c].to_numpy(), ref[c].to_numpy(), rtol=1e-12)


def test_time_bars_hand_case_and_unsorted_input():
    s = 1_000_000_000
    ticks = frame([59 * s, 0, 61 * s, 5 * s, 30 * s], ["A", "A", "A", "B", "A"],
                  [2, 1, 3, 10, 4], [1, 1, 2, 5, 2])
    bars = time_bars(ticks, "1m")
    assert bars.select("symbol", "open", "high", "low", "close", "volume", "trades").rows() == [
        ("A", 1.0, 4.0, 1.0, 2.0, 4.0, 3), ("B", 10.0, 10.0, 10.0, 10.0, 5.0, 1),
        ("A", 3.0, 3.0, 3.0, 3.0, 2.0, 1)]
    assert bars["vwap"][0] == pytest.approx((1 * 1 + 4 * 2 + 2 * 1) / 4)
    assert bars["ts"].to_physical().to_list() == [0, 0, 60 * s]


@pytest.mark.parametrize("interval", ["1s", "5m", "1d", 250_000_000])
def test_one_symbol_bars_from_arrays_match_pandas(market, interval):
    ticks = market.ticks.filter(pl.col("symbol") == market.ticks["symbol"][0])
    rule = {"1s": "1s", "5m": "5min", "1d": "24h", 250_000_000: "250ms"}[interval]
    ref = pandas_time_bars(ticks, rule)
    # shuffled: the function puts them in time order first
    order = np.random.default_rng(0).permutation(ticks.height)
    got = symbol_time_bars(ticks["symbol"][0], ticks["ts"].to_physical().to_numpy()[order],
                           ticks["price"].to_numpy()[order], ticks["size"].to_numpy()[order],
                           interval)
    assert got.schema == pl.Schema(BARS)
    assert got.select("ts", "symbol", "trades").equals(ref.select("ts", "symbol", "trades"))
    for c in ("high", "low", "volume", "vwap"):
        np.testing.assert_allclose(got[c].to_numpy(), ref[c].to_numpy(), rtol=1e-12)


def test_one_symbol_bars_hand_case():
    s = 1_000_000_000
    ts = np.array([0, 59 * s, 60 * s, 200 * s], dtype=np.int64)
    got = symbol_time_bars("X", ts, np.array([1.0, 3.0, 2.0, 5.0]),
                           np.array([1.0, 1.0, 2.0, 0.0]), "1m")
    assert got.select("open", "high", "low", "close", "volume", "trades").rows() == [
        (1.0, 3.0, 1.0, 3.0, 2.0, 2), (2.0, 2.0, 2.0, 2.0, 2.0, 1), (5.0, 5.0, 5.0, 5.0, 0.0, 1)]
    assert got["ts"].to_physical().to_list() == [0, 60 * s, 180 * s]
    assert np.isnan(got["vwap"][2])  # no volume, no vwap
    assert symbol_time_bars("X", ts[:0], ts[:0] * 1.0, ts[:0] * 1.0, "1m").height == 0


def test_time_bars_before_1970_floor_correctly():
    bars = time_bars(frame([-1], ["A"], [1], [1]), "1m")
    assert bars["ts"].to_physical()[0] == -60_000_000_000


def test_volume_and_dollar_bars_hand_case():
    ticks = frame([1, 2, 3, 4, 5, 6], ["A"] * 6, [10, 11, 12, 13, 14, 15], [4, 4, 4, 1, 9, 1])
    vb = volume_bars(ticks, 8)
    # 4+4 closes bar 1; 4+1+9 closes bar 2 on the tick that crosses; the last bar is short
    assert vb.select("open", "close", "volume", "trades").rows() == [
        (10.0, 11.0, 8.0, 2), (12.0, 14.0, 14.0, 3), (15.0, 15.0, 1.0, 1)]
    assert vb["ts"].to_physical().to_list() == [1, 3, 6]
    db = dollar_bars(ticks, 100)
    assert db["trades"].to_list() == [3, 2, 1]  # 40+44+48 >= 100; 13+126 >= 100; 15
    assert db["volume"].sum() == ticks["size"].sum()


def test_volume_bars_reset_per_symbol(market):
    vb = volume_bars(market.ticks, 5_000)
    per_symbol = market.ticks.group_by("symbol").agg(pl.col("size").sum()).sort("symbol")
    got = vb.group_by("symbol").agg(pl.col("volume").sum()).sort("symbol")
    assert got.equals(per_symbol.rename({"size": "volume"}))
    full = vb.filter(pl.col("volume") >= 5_000).height
    assert full >= vb.height - 3  # only each symbol's last bar may be short


def test_empty_and_bad_input():
    assert time_bars(frame([], [], [], []), "1s").schema == pl.Schema(BARS)
    with pytest.raises(DataError, match="missing"):
        time_bars(pl.DataFrame({"ts": [1]}), "1s")
    with pytest.raises(ParameterError):
        volume_bars(frame([1], ["A"], [1], [1]), 0)
    with pytest.raises(ParameterError):
        time_bars(frame([1], ["A"], [1], [1]), "soon")
    with pytest.raises(DataError, match="ts must be a Datetime .*got Int64"):
        time_bars(pl.DataFrame({"ts": [1], "symbol": ["A"], "price": [1.0], "size": [1.0]}), "1s")


def test_timestamps_of_any_unit_or_zone_are_utc_nanoseconds(market):
    # a frame built from Python datetimes holds microseconds; one read from a vendor, a
    # zone of its own; a naive one is UTC, as everywhere in cift
    ticks = market.ticks.head(2_000)
    in_ms = ticks.with_columns(pl.col("ts").dt.truncate("1ms"))
    for ts, same in ((pl.col("ts").dt.cast_time_unit("us"), ticks),
                     (pl.col("ts").dt.convert_time_zone("America/New_York")
                      .dt.cast_time_unit("ms"), in_ms),
                     (pl.col("ts").dt.replace_time_zone(None), ticks)):
        other = ticks.with_columns(ts)
        assert time_bars(other, "1m").equals(time_bars(same, "1m"))
        ruled = apply_tick_rule(other)
        assert ruled["ts"].equals(other["ts"])  # the caller's column, as it was
        assert ruled["side"].equals(apply_tick_rule(same)["side"])


def test_tick_rule_hand_case():
    price = np.array([10, 10, 11, 11, 10.5, 10.5, 12])
    assert tick_rule(price).tolist() == [0, 0, 1, 1, -1, -1, 1]
    side = np.array([-1, 0, 0, 1, 0, 0, 0], np.int8)
    assert tick_rule(price, side).tolist() == [-1, 0, 1, 1, -1, -1, 1]


def test_apply_tick_rule_per_symbol_keeps_row_order():
    ticks = frame([1, 2, 3, 4, 5], ["A", "B", "A", "B", "A"], [10, 5, 11, 4, 11], [1] * 5,
                  [0, 0, 0, 0, 1])
    out = apply_tick_rule(ticks)
    assert out["side"].to_list() == [0, 0, 1, -1, 1]
    assert out.drop("side").equals(ticks.drop("side"))


def test_tick_rule_recovers_synthetic_sides(market):
    unknown = market.ticks.with_columns(side=pl.lit(0, pl.Int8))
    inferred = apply_tick_rule(unknown)["side"].to_numpy()
    true = market.ticks["side"].to_numpy()
    assert (inferred == true).mean() > 0.6  # trades print at the touch: upticks are mostly buys


def test_bars_ignore_row_order_and_symbol_dtype(market):
    ticks = market.ticks.head(50_000)
    expected = time_bars(ticks, "1m")
    shuffled = ticks.sample(fraction=1.0, shuffle=True, seed=3)
    assert time_bars(shuffled, "1m").equals(expected)
    by_symbol = ticks.sort("symbol", "ts")
    assert time_bars(by_symbol, "1m").equals(expected)
    as_enum = ticks.with_columns(pl.col("symbol").cast(pl.Enum(sorted(ticks["symbol"].unique()))))
    assert time_bars(as_enum, "1m").equals(expected)
    assert volume_bars(shuffled, 500).equals(volume_bars(ticks, 500))


def test_apply_tick_rule_on_shuffled_rows_matches_time_order(market):
    ticks = market.ticks.head(20_000).with_columns(side=pl.lit(0, pl.Int8))
    ticks = ticks.with_row_index("row")
    expected = apply_tick_rule(ticks)
    shuffled = ticks.sample(fraction=1.0, shuffle=True, seed=5)
    got = apply_tick_rule(shuffled)
    assert got.drop("side").equals(shuffled.drop("side"))  # the caller's row order is kept
    assert got.sort("row").equals(expected)


@pytest.mark.parametrize("interval", ["1s", "7m", "1d"])
def test_one_symbol_bars_from_chunked_series(market, interval):
    # Series in chunks (one per stored file): bars spanning a chunk boundary, chunks out of
    # time order, and columns chunked differently all give the bars of the whole frame
    ticks = market.ticks.filter(pl.col("symbol") == market.ticks["symbol"][0])
    ticks = ticks.select("ts", "price", "size")
    want = time_bars(ticks.with_columns(symbol=pl.lit("X")), interval)
    cuts = [0, 1, 2, 700, ticks.height // 2, ticks.height]
    pieces = [ticks.slice(a, b - a) for a, b in zip(cuts, cuts[1:], strict=False)]
    for frame_ in (pl.concat(pieces, rechunk=False),
                   pl.concat(pieces[::-1], rechunk=False)):
        assert frame_.get_column("ts").n_chunks() > 1
        assert symbol_time_bars("X", *frame_.get_columns(), interval).equals(want)
    whole = pl.concat(pieces, rechunk=False)
    mixed = (whole["ts"], whole["price"].rechunk(), whole["size"])
    assert symbol_time_bars("X", *mixed, interval).equals(want)
