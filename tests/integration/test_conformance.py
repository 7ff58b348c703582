"""One suite, every backend: the same inputs give the same frames, errors and idempotence.

Backends: the embedded lake, the suite's PostgreSQL, both behind the suite's Redis as the hot
cache, and QuestDB when CIFT_TEST_QUESTDB_URL names one (the only skip the suite allows: no
QuestDB server installs from the registries).
The reference for every answer is the input frame itself (sorted into the store's order), so
no backend is checked against another's output alone.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import polars as pl
import pytest

import cift
from cift.data.bars import time_bars
from cift.data.schema import QUOTES, TICKS
from cift.errors import DataError, ParameterError, StoreError

BACKENDS = ["lake", "postgres", "questdb", "lake+redis", "postgres+redis"]
UTC = dt.UTC


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    backend, _, cache = request.param.partition("+")
    cache_url = request.getfixturevalue("redis_url") if cache else False
    if backend == "lake":
        s = cift.connect(str(tmp_path / "lake"), cache=cache_url)
    elif backend == "postgres":
        s = cift.connect(request.getfixturevalue("pg_url"), cache=cache_url)
    else:
        base = os.environ.get("CIFT_TEST_QUESTDB_URL")
        if not base:
            pytest.skip("CIFT_TEST_QUESTDB_URL is not set (no QuestDB server to test against)")
        sep = "&" if "?" in base else "?"
        s = cift.connect(f"{base}{sep}prefix=t{uuid.uuid4().hex[:10]}_", cache=False)
    yield s
    s.close()


def in_store_order(df: pl.DataFrame) -> pl.DataFrame:
    """Time order, ties by symbol, then arrival order: what every store returns."""
    return df.sort(["ts", "symbol"], maintain_order=True)


def test_round_trip_is_exact(store, market):
    assert store.write_ticks(market.ticks).rows == market.ticks.height
    assert store.write_quotes(market.quotes).rows == market.quotes.height
    ticks, quotes = store.ticks(), store.quotes()
    assert ticks.schema == pl.Schema(TICKS) and quotes.schema == pl.Schema(QUOTES)
    assert ticks.equals(in_store_order(market.ticks))
    assert quotes.equals(in_store_order(market.quotes))


def test_filters_symbols_range_and_columns(store, market):
    store.write_ticks(market.ticks)
    ts = market.ticks.filter(pl.col("symbol") == "BOLT")["ts"]
    start, end = ts[100], ts[900]
    got = store.ticks(["BOLT", "ACME"], start, end, columns=["ts", "price", "symbol"])
    want = in_store_order(market.ticks).filter(
        pl.col("symbol").is_in(["BOLT", "ACME"]), pl.col("ts") >= start, pl.col("ts") < end
    ).select("ts", "price", "symbol")
    assert got.height > 0 and got.equals(want)
    assert store.ticks("NOPE").height == 0
    assert store.ticks("BOLT", "2030-01-01").schema == pl.Schema(TICKS)


def test_equal_timestamps_keep_symbol_then_arrival_order(store):
    t = dt.datetime(2024, 3, 1, 15, tzinfo=UTC)
    first = pl.DataFrame({"ts": [t, t, t], "symbol": ["B", "A", "B"],
                          "price": [1.0, 2.0, 3.0], "size": [1.0, 1.0, 1.0], "side": [1, 0, -1]})
    second = first.with_columns(pl.col("price") + 10)
    store.write_ticks(first)
    store.write_ticks(second)
    got = store.ticks()
    assert got["symbol"].to_list() == ["A", "A", "B", "B", "B", "B"]
    assert got["price"].to_list() == [2.0, 12.0, 1.0, 3.0, 11.0, 13.0]
    # whatever order the symbols are asked in, and without the symbol column
    assert store.ticks(["B", "A"]).equals(got)
    assert store.ticks(["B", "A"], columns=["price"])["price"].equals(got["price"])
    latest = store.latest()
    assert latest["price"].to_list() == [12.0, 13.0]


def test_bars_match_bars_of_the_input(store, market):
    store.write_ticks(market.ticks)
    got = store.bars(None, "5m")
    want = time_bars(market.ticks, "5m")
    assert got.columns == want.columns and got.height == want.height
    assert got.select("ts", "symbol", "trades").equals(want.select("ts", "symbol", "trades"))
    for c in ("open", "high", "low", "close", "volume", "vwap"):
        assert (got[c] - want[c]).abs().max() <= 1e-12 * want[c].abs().max()
    one = store.bars("ACME", "1h", "2024-01-03")
    assert set(one["symbol"]) == {"ACME"} and one["ts"].min() >= dt.datetime(2024, 1, 3,
                                                                                tzinfo=UTC)
    with pytest.raises(ParameterError):
        store.bars("ACME", "5 parsecs")


def test_empty_and_long_symbol_lists(store):
    """No symbols asks for nothing; thousands of symbols (more than one statement can bind on
    a server: a PG-wire statement takes at most 32767 parameters) are all answered."""
    names = [f"S{i:05d}" for i in range(1_100)]
    t0 = dt.datetime(2024, 3, 1, 15, tzinfo=UTC)
    ticks = pl.DataFrame({"ts": [t0 + dt.timedelta(seconds=i // 3) for i in range(2_200)],
                          "symbol": names * 2, "price": [float(i) for i in range(2_200)],
                          "size": [1.0] * 2_200, "side": [1] * 2_200})
    assert store.write_ticks(ticks).rows == 2_200
    assert store.write_ticks(ticks).skipped_rows == 2_200
    asked = names[::-1][:1_050]  # in no particular order, most of them
    want = in_store_order(ticks.filter(pl.col("symbol").is_in(asked)))
    assert store.ticks(asked).equals(want)
    got = store.latest(asked)
    assert got["symbol"].to_list() == sorted(asked)
    assert got["price"].to_list() == [float(names.index(s) + 1_100) for s in sorted(asked)]
    assert store.bars(asked, "1m")["trades"].sum() == want.height
    assert store.ticks([]).equals(pl.DataFrame(schema=TICKS))
    assert store.quotes([]).equals(pl.DataFrame(schema=QUOTES))
    assert store.latest([]).height == 0 and store.bars([], "1m").height == 0


def test_latest_and_catalog(store, market):
    store.write_ticks(market.ticks)
    store.write_quotes(market.quotes)
    want = (market.ticks.group_by("symbol", maintain_order=True).last()
            .select("symbol", "ts", "price", "size", "side").sort("symbol"))
    assert store.latest().equals(want)
    assert store.latest("BOLT").equals(want.filter(pl.col("symbol") == "BOLT"))
    assert store.latest(["NOPE"]).height == 0
    last = want.row(1, named=True)
    trade = store.latest_trade(last["symbol"])
    assert trade == cift.Trade(last["symbol"], int(want["ts"].dt.epoch("ns")[1]),
                               last["price"], last["size"], last["side"])
    assert store.latest_trade("NOPE") is None
    cat = store.catalog()
    for table, df in (("ticks", market.ticks), ("quotes", market.quotes)):
        want = (df.group_by("symbol").agg(first_ts=pl.col("ts").min(),
                                          last_ts=pl.col("ts").max(),
                                          rows=pl.len().cast(pl.Int64)).sort("symbol"))
        got = cat.filter(pl.col("table") == table).drop("table").sort("symbol")
        assert got.equals(want)
    assert store.symbols() == ["ACME", "BOLT", "CRUX"]


def test_reingest_is_idempotent(store, market):
    store.write_ticks(market.ticks)
    again = store.write_ticks(market.ticks)
    assert again.rows == 0 and again.skipped_rows == market.ticks.height
    assert store.ticks().height == market.ticks.height
    # a batch that overlaps old and new data stores only its new chunks
    extra = market.ticks.with_columns(pl.col("ts").dt.offset_by("7d"))
    both = store.write_ticks(pl.concat([market.ticks, extra]))
    assert (both.rows, both.skipped_rows) == (extra.height, market.ticks.height)


def test_rows_written_out_of_time_order_are_known_when_they_come_back(store, market):
    # a store gives rows back in time order: written again (cift copy from one store to
    # another, or onto itself), their chunks must be recognised, not stored twice
    shuffled = market.ticks.sample(fraction=1.0, shuffle=True, seed=3)
    assert store.write_ticks(shuffled).rows == market.ticks.height
    again = store.write_ticks(store.ticks())
    assert (again.rows, again.skipped_rows) == (0, market.ticks.height)
    changed = store.ticks().with_columns(pl.col("size") + 1)  # the same rows, other sizes
    assert store.write_ticks(changed).rows == market.ticks.height


def test_a_file_too_large_to_read_whole(store, market, tmp_path, monkeypatch):
    # read in pieces, written in whole (symbol, day) chunks: the same chunks as a whole
    # read, so a whole read of the file afterwards finds it stored
    import cift.data.importer as importer
    import cift.store.spill as spill

    path = tmp_path / "ticks.csv"
    market.ticks.write_csv(path)
    monkeypatch.setattr(importer, "LARGE_CSV_BYTES", 0)
    monkeypatch.setattr(importer, "PIECE_BYTES", 50_000)
    monkeypatch.setattr(spill, "WRITE_ROWS", 10_000)
    assert store.ingest(path).rows == market.ticks.height
    assert store.ticks().equals(in_store_order(market.ticks))
    assert store.write_ticks(market.ticks).skipped_rows == market.ticks.height


def test_delete_then_reingest(store, market):
    store.write_ticks(market.ticks)
    store.write_quotes(market.quotes)
    day1 = market.ticks.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date()
                               == dt.date(2024, 1, 2))
    q1 = market.quotes.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date()
                              == dt.date(2024, 1, 2))
    assert store.delete("ACME", "2024-01-02", "2024-01-03") == day1.height + q1.height
    assert store.ticks("ACME", "2024-01-02", "2024-01-03").height == 0
    assert store.ticks("BOLT").height > 0
    cat = store.catalog().filter(pl.col("symbol") == "ACME")
    rest = market.ticks.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date()
                               != dt.date(2024, 1, 2))
    assert cat.filter(pl.col("table") == "ticks")["rows"].to_list() == [rest.height]
    assert cat.filter(pl.col("table") == "ticks")["first_ts"][0] == rest["ts"].min()
    # a partial delete inside a day keeps the rest of that day counted
    bolt = market.ticks.filter(pl.col("symbol") == "BOLT")
    cut = bolt["ts"][len(bolt) // 3]
    removed = bolt.filter(pl.col("ts") >= cut, pl.col("ts") < cut + dt.timedelta(minutes=30))
    q_removed = market.quotes.filter(pl.col("symbol") == "BOLT", pl.col("ts") >= cut,
                                     pl.col("ts") < cut + dt.timedelta(minutes=30))
    assert store.delete("BOLT", cut, cut + dt.timedelta(minutes=30)) == (removed.height
                                                                         + q_removed.height)
    bolt_rows = store.catalog().filter(pl.col("symbol") == "BOLT", pl.col("table") == "ticks")
    assert bolt_rows["rows"].to_list() == [bolt.height - removed.height]
    store.delete("BOLT")
    assert store.write_ticks(market.ticks).rows == day1.height + bolt.height
    assert store.ticks().equals(in_store_order(market.ticks))
    with pytest.raises(StoreError):
        store.delete([])


def test_symbols_are_free_text_never_sql(store):
    evil = ["x'; DROP TABLE ticks; --", "BRK.B", "^GSPC", "ES=F", "é字"]
    t = dt.datetime(2024, 3, 1, 15, tzinfo=UTC)
    df = pl.DataFrame({"ts": [t] * len(evil), "symbol": evil, "price": [1.0] * len(evil),
                       "size": [2.0] * len(evil), "side": [0] * len(evil)})
    store.write_ticks(df)
    assert store.symbols() == sorted(evil)
    assert store.ticks(evil[0])["symbol"].to_list() == [evil[0]]
    assert store.ticks().height == len(evil)  # the table is still there


@pytest.mark.parametrize("bad, error", [
    (lambda df: df.drop("price"), "price"),
    (lambda df: df.with_columns(size=pl.lit(-1.0)), "size"),
    (lambda df: df.with_columns(price=pl.lit(float("nan"))), "price"),
    (lambda df: df.with_columns(side=pl.lit(5)), "side"),
])
def test_bad_input_is_rejected_and_changes_nothing(store, market, bad, error):
    store.write_ticks(market.ticks.head(100))
    before = store.ticks()
    with pytest.raises(DataError, match=error):
        store.write_ticks(bad(market.ticks.slice(100, 50)))
    assert store.ticks().equals(before)


def test_bad_arguments(store):
    with pytest.raises(ParameterError):
        store.ticks(columns=["nope"])
    with pytest.raises(ParameterError):
        store.ticks("ACME", "2024-01-03", "2024-01-02")
    with pytest.raises(ParameterError):
        store.ticks(symbols=[3])
    with pytest.raises(ParameterError):
        store.write("bars", pl.DataFrame())
