import datetime as dt
import os
import time

import polars as pl
import pytest

import cift.store.lake as lake_module
from cift.data.bars import time_bars
from cift.data.schema import BARS, QUOTES, TICKS
from cift.errors import DataError, ParameterError, StoreError
from cift.store.base import TimeRange
from cift.store.lake import Lake

DAY1, DAY2 = dt.date(2024, 1, 2), dt.date(2024, 1, 3)


def snapshot(lake: Lake) -> dict[str, bytes]:
    """Every file in the lake, with its bytes (to prove nothing changed)."""
    return {str(p.relative_to(lake.root)): p.read_bytes()
            for p in sorted(lake.root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_round_trip_is_exact(filled_lake, market):
    assert filled_lake.ticks().equals(market.ticks)
    assert filled_lake.quotes().equals(market.quotes)
    assert filled_lake.ticks().schema == pl.Schema(TICKS)
    assert filled_lake.quotes().schema == pl.Schema(QUOTES)


def test_one_symbol_and_half_open_range(filled_lake, market):
    got = filled_lake.ticks("ACME", DAY1, DAY2)
    want = market.ticks.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date() == DAY1)
    assert got.height > 0 and got.equals(want)
    ts = want["ts"]
    start, end = ts[10], ts[20]
    got = filled_lake.ticks(["ACME"], start, end)
    assert got.equals(want.filter((pl.col("ts") >= start) & (pl.col("ts") < end)))
    iso = filled_lake.ticks("ACME", "2024-01-02T15:00:00", "2024-01-02T10:30:00-05:00")
    assert iso["ts"].min() >= dt.datetime(2024, 1, 2, 15, tzinfo=dt.timezone.utc)
    assert iso["ts"].max() < dt.datetime(2024, 1, 2, 15, 30, tzinfo=dt.timezone.utc)


def test_many_symbols_keep_time_order(filled_lake, market):
    got = filled_lake.quotes(["CRUX", "ACME"], DAY2)
    want = market.quotes.filter(pl.col("symbol").is_in(["CRUX", "ACME"]),
                                pl.col("ts").dt.date() == DAY2)
    assert got.equals(want)


def test_columns_selection(filled_lake, market):
    got = filled_lake.ticks("BOLT", columns=["price", "ts"])
    assert got.columns == ["price", "ts"]
    assert got.equals(market.ticks.filter(pl.col("symbol") == "BOLT").select("price", "ts"))
    with pytest.raises(ParameterError, match="bid_px"):
        filled_lake.ticks(columns=["bid_px"])


def test_unknown_symbols_and_empty_ranges_give_empty_typed_frames(filled_lake):
    assert filled_lake.ticks("NOPE").schema == pl.Schema(TICKS)
    assert filled_lake.ticks("ACME", "2030-01-01").height == 0
    assert filled_lake.bars("NOPE", "1m").schema == pl.Schema(BARS)
    assert filled_lake.latest("NOPE").height == 0


@pytest.mark.parametrize("symbol", ["BRK.B", "^GSPC", "ES=F", "a/b", "..", ".INX",
                                    "x'; DROP TABLE ticks; --", "ÄÖ€", "aapl", "AAPL", "%41"])
def test_free_text_symbols(lake, market, symbol):
    df = market.ticks.head(50).with_columns(symbol=pl.lit(symbol))
    lake.write_ticks(df)
    other = "AAPL" if symbol != "AAPL" else "MSFT"
    lake.write_ticks(market.ticks.head(5).with_columns(symbol=pl.lit(other)))
    assert lake.ticks(symbol).equals(df)
    assert symbol in lake.symbols()
    assert all(p.resolve().is_relative_to(lake.root) for p in lake.root.rglob("*"))


@pytest.mark.parametrize("small_part", [0, 10**9], ids=["a-scan-per-part", "one-scan-by-path"])
def test_a_lake_and_symbols_named_like_patterns(tmp_path, market, monkeypatch, small_part):
    # Polars takes a path as a glob unless told not to: "*", "?" and "[...]" in the lake's
    # directory or a symbol's must be plain characters to every read and rewrite
    monkeypatch.setattr(lake_module, "_SMALL_PART", small_part)
    lake = Lake(tmp_path / "data [v2] *?" / "lake")
    names = {"ACME": "*", "BOLT": "[B]", "CRUX": "a?b"}
    ticks = market.ticks.with_columns(pl.col("symbol").replace_strict(names))
    lake.write_ticks(ticks)
    assert lake.ticks().equals(ticks)
    assert lake.ticks(["*", "a?b"]).equals(ticks.filter(pl.col("symbol").is_in(["*", "a?b"])))
    assert lake.bars(None, "5m").equals(time_bars(ticks, "5m"))
    assert lake.latest().equals(ticks.group_by("symbol", maintain_order=True).last()
                                .select("symbol", "ts", "price", "size", "side").sort("symbol"))
    lake.write_ticks(ticks.head(3).with_columns(pl.col("price") + 1))
    assert lake.compact() > 0
    assert lake.delete("[B]", DAY2) == ticks.filter(pl.col("symbol") == "[B]",
                                                    pl.col("ts").dt.date() >= DAY2).height
    assert lake.ticks("[B]")["ts"].max() < dt.datetime(2024, 1, 3, tzinfo=dt.UTC)


def test_a_symbol_too_long_for_a_directory_name_is_refused_whole(lake, market):
    # 248 letters fit a 255-byte directory name with its "symbol=" (an e-acute takes six
    # bytes, percent-encoded); a longer name is a clear error, not an OSError
    fits, too_long = "X" * 248, "é" * 83
    lake.write_ticks(market.ticks.head(5).with_columns(symbol=pl.lit(fits)))
    before = lake.catalog()
    bad = market.ticks.head(10).with_columns(
        symbol=pl.when(pl.int_range(pl.len()) < 5).then(pl.lit("ACME")).otherwise(pl.lit(too_long)))
    with pytest.raises(DataError, match="too long") as err:
        lake.write_ticks(bad)
    assert err.value.field == "symbol"
    assert lake.catalog().equals(before)  # the fine ACME rows were not written either
    assert lake.ticks(fits).height == 5
    assert lake.ticks(too_long).height == 0 and lake.delete(too_long) == 0


def test_idempotent_reingest_and_appends(lake, market):
    first = lake.write_ticks(market.ticks)
    again = lake.write_ticks(market.ticks)
    assert first.rows == market.ticks.height and first.skipped_rows == 0
    assert again.rows == 0 and again.skipped_rows == market.ticks.height
    assert lake.ticks().equals(market.ticks)
    # a batch split differently: each (symbol, day) chunk of day 1 is known already
    day1 = market.ticks.filter(pl.col("ts").dt.date() == DAY1)
    assert lake.write_ticks(day1).rows == 0
    # a genuinely new batch appends, and reads merge it in time order
    extra = market.ticks.filter(pl.col("symbol") == "ACME").head(3).with_columns(
        pl.col("price") + 1)
    assert lake.write_ticks(extra).rows == 3
    got = lake.ticks("ACME", DAY1, DAY2)
    assert got.height == day1.filter(pl.col("symbol") == "ACME").height + 3
    assert got["ts"].is_sorted()


def test_rejected_write_changes_nothing(filled_lake, market):
    before = snapshot(filled_lake)
    bad = market.ticks.with_columns(
        size=pl.when(pl.int_range(pl.len()) == 1234).then(-1.0).otherwise(pl.col("size")))
    with pytest.raises(DataError, match="row 1235, field 'size'"):
        filled_lake.write_ticks(bad)
    assert snapshot(filled_lake) == before


def test_a_failing_file_system_is_a_store_error_and_leaves_whole_files(lake, market,
                                                                       monkeypatch):
    # a full disk (or a read-only mount) mid-write: a StoreError naming the lake, the parts
    # renamed in before it whole, no staging left behind, and the write completes later
    import errno
    import os

    placed, replace = [], os.replace

    def full_after_two(src, dst):
        if len(placed) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        placed.append(dst)
        replace(src, dst)
    monkeypatch.setattr(lake_module.os, "replace", full_after_two)
    with pytest.raises(StoreError, match=f"cannot write to the lake at {lake.root}: No space"):
        lake.write_ticks(market.ticks)
    assert len(placed) == 2 and not list(lake.root.glob(".staging-*"))
    stored = lake.ticks()
    assert 0 < stored.height < market.ticks.height
    monkeypatch.setattr(lake_module.os, "replace", replace)
    assert lake.write_ticks(market.ticks).skipped_rows == stored.height
    assert lake.ticks().equals(market.ticks)
    more = market.ticks.head(3).with_columns(pl.col("price") + 1)
    lake.write_ticks(more)
    before = lake.ticks()
    placed.clear()
    placed.extend([None, None])  # compact's first rename fails
    monkeypatch.setattr(lake_module.os, "replace", full_after_two)
    with pytest.raises(StoreError, match="cannot write to the lake"):
        lake.compact()
    assert lake.ticks().equals(before)


def test_compact_merges_and_keeps_idempotency(lake, market):
    half = market.ticks.height // 2
    lake.write_ticks(market.ticks.head(half))
    lake.write_ticks(market.ticks.tail(market.ticks.height - half))
    parts_before = len(list(lake.root.rglob("p_*.parquet")))
    merged = lake.compact()
    assert merged > 0
    assert len(list(lake.root.rglob("p_*.parquet"))) == parts_before - merged
    assert lake.ticks().equals(market.ticks)
    assert lake.write_ticks(market.ticks.head(half)).rows == 0  # still known after merging
    assert lake.compact() == 0
    before = sorted(lake.root.rglob("*"))
    assert lake.compact(["NOPE", "x" * 300]) == 0  # symbols never stored: nothing made
    assert sorted(lake.root.rglob("*")) == before


def parts_of(*rows: int) -> list:
    """Parts of these sizes, oldest first, as a partition's listing gives them."""
    return [lake_module._Part(f"p{i}", i + 1, i + 1, 0, n, 0, 0, f"{i:024x}")
            for i, n in enumerate(rows)]


def test_which_small_parts_a_write_merges(monkeypatch):
    run = lake_module._merge_run
    assert run(parts_of(*[10] * 15)) == []
    assert run(parts_of(*[10] * 16)) == parts_of(*[10] * 16)
    # an older part joins only when the newer rows are at least as many as its own
    assert run(parts_of(161, *[10] * 16)) == parts_of(161, *[10] * 16)[1:]
    assert run(parts_of(160, *[10] * 16)) == parts_of(160, *[10] * 16)
    assert run(parts_of(5, 1000, *[10] * 15)) == []
    # parts past the merge's size are compact()'s
    monkeypatch.setattr(lake_module, "_MERGE_ROWS", 100)
    assert run(parts_of(*[10] * 16)) == []
    # sizes that defeat the rule (each larger than all newer ones): three runs' worth merge
    monkeypatch.setattr(lake_module, "_MERGE_FAN", 2)
    monkeypatch.setattr(lake_module, "_MERGE_ROWS", 1000)
    assert run(parts_of(64, 32, 16, 8, 4)) == []
    assert run(parts_of(900, 64, 32, 16, 8, 4, 2)) == parts_of(900, 64, 32, 16, 8, 4, 2)[1:]


def test_small_appends_are_merged_as_they_come(lake, market, monkeypatch):
    # a live runner writing every few ticks: parts stay few, reads and re-sends as before
    monkeypatch.setattr(lake_module, "_MERGED_S", 0)  # parts merged away go at once
    acme = market.ticks.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date() == DAY1)
    acme = acme.head(2_000).with_columns(ts=pl.col("ts").dt.truncate("1s"))  # ties across
    cuts = [0, *sorted({(i * 7919) % acme.height for i in range(1, 200)}), acme.height]
    batches = [acme[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    most = 0
    for i, batch in enumerate(batches):
        assert lake.write_ticks(batch).rows == batch.height
        most = max(most, len(list(lake.root.rglob("p_*.parquet"))))
        if i % 50 == 0:
            assert lake.ticks().equals(pl.concat(batches[:i + 1]).sort("ts", maintain_order=True))
    assert len(batches) > 150 and most < 3 * lake_module._MERGE_FAN
    assert lake.ticks().equals(acme.sort("ts", maintain_order=True))
    assert lake.latest().equals(acme.sort("ts", maintain_order=True).tail(1).select(
        "symbol", "ts", "price", "size", "side"))
    assert all(lake.write_ticks(b).rows == 0 for b in batches)  # every batch still known
    # an append of newer rows does not read the merged batches' hashes (a line per write)
    log = next(lake.root.rglob(".ingested"))
    hashes = log.read_text()
    log.unlink()
    log.mkdir()  # unreadable as a file
    newer = acme.sort("ts").tail(1).with_columns(pl.col("ts") + pl.duration(seconds=1))
    assert lake.write_ticks(newer).rows == 1
    log.rmdir()
    log.write_text(hashes)
    assert lake.delete("ACME") == acme.height + 1 and lake.ticks().height == 0


def test_what_killed_writers_left_is_removed(tmp_path, market):
    # a kernel restarted mid-ingest leaves its staged parts (as large as the batch) and a
    # rewrite its temp file: hidden from every listing, they would hold the disk forever
    lake = Lake(tmp_path)
    lake.write_ticks(market.ticks.head(100))
    partition = next(lake.root.rglob("date=*"))
    old, new = time.time() - 2 * lake_module._STALE_S, time.time() - 60
    leftovers = {}
    for name, where, age in [(".staging-dead", lake.root, old), (".staging-busy", lake.root, new),
                             (".tmp-dead", partition, old), (".tmp-busy", partition, new)]:
        path = where / name
        if name.startswith(".staging"):
            path.mkdir()
            (path / "0.parquet").write_bytes(b"x" * 1000)
        else:
            path.write_bytes(b"x" * 1000)
        os.utime(path, (age, age))
        leftovers[name] = path
    before = lake.ticks()
    Lake(tmp_path)  # opening removes stale staging; a writer's fresh one stays
    assert not leftovers[".staging-dead"].exists() and leftovers[".staging-busy"].exists()
    assert leftovers[".tmp-dead"].exists()
    lake.compact()  # compact removes a partition's stale temp files
    assert not leftovers[".tmp-dead"].exists() and leftovers[".tmp-busy"].exists()
    assert lake.ticks().equals(before)


def test_a_reader_that_listed_parts_before_a_merge_still_reads_them(lake, market,
                                                                    monkeypatch):
    acme = market.ticks.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date() == DAY1)
    batches = [acme[i * 50:(i + 1) * 50] for i in range(17)]
    for batch in batches[:15]:
        lake.write_ticks(batch)
    listed = lake._parts("ticks", ["ACME"], TimeRange())  # a reader in another process
    lake.write_ticks(batches[15])  # the 16th small part: merged with the 15 before
    assert [p.rows for _, p in lake._parts("ticks", ["ACME"], TimeRange())] == [800]
    # the parts it listed are still there: its read gives what it listed (it started over
    # after a merge, and a read of many symbols written every second kept starting over)
    got = lake._read("ticks", "ACME", None, None, None, time_order=True, listed=listed)
    assert got.equals(pl.concat(batches[:15]))
    assert len(list(lake.root.rglob("p_*.parquet"))) == 17
    monkeypatch.setattr(lake_module, "_MERGED_S", 0)  # once the merge is that old,
    lake.write_ticks(batches[16])  # the next write removes them
    assert len(list(lake.root.rglob("p_*.parquet"))) == 2
    assert lake.ticks("ACME").equals(pl.concat(batches))
    # a delete removes them at once, and never brings them back
    monkeypatch.setattr(lake_module, "_MERGED_S", 60)
    for batch in batches[:15]:
        lake.write_ticks(batch.with_columns(pl.col("price") + 1))
    assert len(list(lake.root.rglob("p_*.parquet"))) > 2
    lake.delete("ACME")
    assert lake.ticks("ACME").height == 0 and not list(lake.root.rglob("p_*.parquet"))


def test_delete_range_then_reingest(filled_lake, market):
    start, end = "2024-01-02T15:00", "2024-01-02T16:00"
    in_range = (pl.col("symbol") == "ACME") & (pl.col("ts") >= dt.datetime(
        2024, 1, 2, 15, tzinfo=dt.timezone.utc)) & (pl.col("ts") < dt.datetime(
            2024, 1, 2, 16, tzinfo=dt.timezone.utc))
    n_ticks = market.ticks.filter(in_range).height
    n_quotes = market.quotes.filter(in_range).height
    assert filled_lake.delete("ACME", start, end) == n_ticks + n_quotes
    assert filled_lake.ticks().equals(market.ticks.filter(~in_range))
    assert filled_lake.delete("ACME", start, end) == 0
    # the touched partition forgot its batches: the same data can come back
    filled_lake.write_ticks(market.ticks)
    assert filled_lake.ticks("ACME", DAY1, DAY2).height > \
        market.ticks.filter(pl.col("symbol") == "ACME", pl.col("ts").dt.date() == DAY1).height


def test_delete_whole_symbol(filled_lake, market):
    n = market.ticks.filter(pl.col("symbol") == "BOLT").height + \
        market.quotes.filter(pl.col("symbol") == "BOLT").height
    assert filled_lake.delete("BOLT") == n
    assert "BOLT" not in filled_lake.symbols()
    filled_lake.write_ticks(market.ticks)
    assert filled_lake.ticks("BOLT").equals(market.ticks.filter(pl.col("symbol") == "BOLT"))
    with pytest.raises(StoreError, match="at least one symbol"):
        filled_lake.delete([])


def test_catalog_and_symbols(filled_lake, market):
    cat = filled_lake.catalog()
    assert cat.columns == ["table", "symbol", "first_ts", "last_ts", "rows"]
    want = pl.concat([
        df.group_by("symbol").agg(first_ts=pl.col("ts").min(), last_ts=pl.col("ts").max(),
                                  rows=pl.len().cast(pl.Int64)).with_columns(table=pl.lit(t))
        for t, df in (("ticks", market.ticks), ("quotes", market.quotes))
    ]).select(cat.columns).sort("table", "symbol")
    assert cat.sort("table", "symbol").equals(want)
    assert filled_lake.symbols() == ["ACME", "BOLT", "CRUX"]


def test_latest(filled_lake, market):
    want = market.ticks.group_by("symbol").agg(pl.all().last()).select(
        "symbol", "ts", "price", "size", "side").sort("symbol")
    assert filled_lake.latest().equals(want)
    assert filled_lake.latest("BOLT").equals(want.filter(pl.col("symbol") == "BOLT"))


def test_bars_from_store_equal_bars_from_frame(filled_lake, market):
    got = filled_lake.bars(["ACME", "CRUX"], "5m", DAY1, DAY2)
    want = time_bars(market.ticks.filter(pl.col("symbol").is_in(["ACME", "CRUX"]),
                                         pl.col("ts").dt.date() == DAY1), "5m")
    assert got.equals(want)


@pytest.mark.parametrize("small_part", [0, 10**9], ids=["a-scan-per-part", "one-scan-by-path"])
def test_reads_agree_however_the_parts_are_scanned(lake, market, monkeypatch, small_part):
    """Small parts are read in one scan naming each row's file, large ones by a scan each:
    both give the frames' answers, ties in time ordered by symbol then arrival."""
    monkeypatch.setattr(lake_module, "_SMALL_PART", small_part)
    # two symbols trading at the same instants, written in the reverse of symbol order, and
    # a second batch of ACME ending on the same instant as its first
    ts = market.ticks["ts"].head(4)
    tied = pl.DataFrame({"ts": pl.concat([ts, ts]), "symbol": ["ZED"] * 4 + ["ABE"] * 4,
                         "price": [1.0, 2, 3, 4, 5, 6, 7, 8], "size": 1.0,
                         "side": pl.Series([1, -1] * 4, dtype=pl.Int8)}, schema=TICKS)
    later = market.ticks.filter(pl.col("symbol") == "ACME").tail(1).with_columns(price=123.0)
    for batch in (market.ticks, tied, later):
        lake.write_ticks(batch)
    every = pl.concat([market.ticks, tied, later])
    in_order = every.with_row_index().sort("ts", "symbol", "index").drop("index")
    assert lake.ticks().equals(in_order)
    start, end = market.ticks["ts"][500], market.ticks["ts"][-500]
    inside = in_order.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
    assert lake.ticks(["ACME", "ZED", "CRUX"], start, end).equals(
        inside.filter(pl.col("symbol").is_in(["ACME", "ZED", "CRUX"])))
    assert lake.bars(None, "1m").equals(time_bars(every, "1m"))
    assert lake.bars(["ABE", "BOLT"], "5m", start, end).equals(
        time_bars(inside.filter(pl.col("symbol").is_in(["ABE", "BOLT"])), "5m"))
    latest = lake.latest()
    assert latest.equals(in_order.group_by("symbol", maintain_order=True).last()
                         .select(latest.columns).sort("symbol"))
    assert latest.filter(pl.col("symbol") == "ACME")["price"].item() == 123.0
    assert latest.filter(pl.col("symbol") == "ZED")["price"].item() == 4.0


def test_rows_read_by_path_never_come_back_without_their_symbol(filled_lake, monkeypatch):
    # were Polars to name a file otherwise than cift does, the join would leave symbols
    # empty: a clear error instead of nulls
    monkeypatch.setattr(lake_module, "_path_symbols", lambda parts: pl.DataFrame(
        {lake_module._PATH: [f"elsewhere/{i}" for i in range(len(parts))],
         "symbol": [sym for sym, _ in parts]}))
    for read in (filled_lake.ticks, filled_lake.latest):
        with pytest.raises(StoreError, match="came back under another name"):
            read()


def test_bad_arguments(filled_lake):
    with pytest.raises(ParameterError, match="end"):
        filled_lake.ticks("ACME", "2024-01-03", "2024-01-02")
    with pytest.raises(ParameterError, match="symbols"):
        filled_lake.ticks(["ACME", 3])
    with pytest.raises(ParameterError, match="start"):
        filled_lake.ticks("ACME", "the day before")


@pytest.mark.parametrize("codec", ["uncompressed", "lz4", "zstd"])
def test_parts_use_the_lake_codec_and_read_alike(tmp_path, market, codec):
    import pyarrow.parquet as pq

    def codecs(lake: Lake) -> set[str]:
        return {pq.ParquetFile(p).metadata.row_group(0).column(1).compression
                for p in (lake.root / "ticks").rglob("*.parquet")}

    half = market.ticks.height // 2
    lake = Lake(tmp_path / codec, compression=codec)
    lake.write_ticks(market.ticks.head(half))
    assert codecs(lake) == {codec.upper()}
    Lake(lake.root, compression="snappy").write_ticks(market.ticks.tail(-half))
    assert codecs(lake) == {codec.upper(), "SNAPPY"}
    assert lake.ticks().equals(market.ticks)  # parts of both codecs read alike
    assert lake.compact() > 0  # merged parts take the lake's codec
    assert codecs(lake) == {codec.upper()}
    assert lake.ticks().equals(market.ticks)


def test_unknown_codec_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="compression"):
        Lake(tmp_path / "x", compression="zip")


def test_compact_progress_counts_symbols(lake, market, capsys):
    half = market.ticks.height // 2
    lake.write_ticks(market.ticks.head(half))
    lake.write_ticks(market.ticks.tail(market.ticks.height - half))
    assert lake.compact() > 0 and capsys.readouterr().err == ""  # no bar unless asked
    lake.write_ticks(market.ticks.head(10).with_columns(pl.col("price") + 1))
    assert lake.compact(progress=True) > 0
    n = market.ticks["symbol"].n_unique()  # (no quotes were written)
    err = capsys.readouterr().err
    assert "compact" in err and f"{n}/{n}" in err and "symbol" in err


def test_import_progress_shows_the_file_and_its_stage(lake, market, tmp_path, capsys,
                                                      monkeypatch):
    import cift.store.base as base

    path = tmp_path / "ticks.csv"
    market.ticks.head(1000).write_csv(path)
    lake.ingest(path, progress=True)  # one small file: no bar
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(base, "LARGE_IMPORT_BYTES", 1)  # a "large" file gets one
    other = tmp_path / "more.csv"
    market.ticks.slice(1000, 1000).write_csv(other)
    lake.ingest(other, progress=True)
    err = capsys.readouterr().err
    assert "ingest" in err and "more.csv: reading" in err and "writing 1,000 ticks" in err
    assert lake.ticks().height == 2000


def test_files_are_written_together_unless_they_share_a_symbol_day(lake, market, tmp_path,
                                                                   monkeypatch):
    # a file per symbol: one write; the same symbol-day split over two files: two writes, so
    # either file alone is found again as it was written
    writes = []
    write = Lake.write
    monkeypatch.setattr(Lake, "write", lambda self, table, df, **kw: writes.append(
        (table, df.height, kw["source"])) or write(self, table, df, **kw))
    ticks = market.ticks
    folder = tmp_path / "by_symbol"
    folder.mkdir()
    files = ticks.partition_by("symbol", as_dict=True)
    for (symbol,), df in files.items():
        df.write_csv(folder / f"{symbol}.csv")
    assert lake.ingest(folder).rows == ticks.height
    assert writes == [("ticks", ticks.height,
                       f"{folder / 'ACME.csv'} (+{len(files) - 1} more files)")]
    assert lake.ticks().equals(ticks)

    acme = ticks.filter(pl.col("symbol") == "ACME")
    day = acme.filter(pl.col("ts").dt.date() == acme["ts"].dt.date()[0])
    halves = tmp_path / "halves"
    halves.mkdir()
    day.head(10).write_csv(halves / "a.csv")
    day.slice(10).write_csv(halves / "b.csv")
    other = Lake(tmp_path / "other")
    writes.clear()
    assert other.ingest(halves).rows == day.height
    assert [n for _, n, _ in writes] == [10, day.height - 10]
    assert other.ingest(halves / "b.csv").skipped_rows == day.height - 10


def test_a_bad_file_keeps_the_files_before_it_and_writes_none_after(lake, market, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    parts = market.ticks.partition_by("symbol", as_dict=True)
    for (symbol,), df in parts.items():
        df.write_csv(folder / f"{symbol}.csv")
    (folder / "B0.csv").write_text("ts,symbol,price,size,side\n1,X,1.0,-1,1\n")  # sorts 2nd
    with pytest.raises(DataError, match="B0.csv"):
        lake.ingest(folder)
    assert lake.symbols() == ["ACME"]
    assert lake.ticks().equals(parts[("ACME",)])
