"""Files too large to read whole: validated in pieces, written in whole (symbol, day) chunks."""

import datetime as dt
import warnings
import zipfile
from zoneinfo import ZoneInfo

import polars as pl
import pytest

import cift.data.importer as importer
import cift.store.spill as spill
from cift.errors import DataError, StoreError
from cift.store.lake import Lake


@pytest.fixture
def in_pieces(monkeypatch):
    """Every file counts as large; pieces of ~20 KB of CSV (or 700 rows of Parquet), writes
    of ~10,000 rows: the suite's small market (6 chunks of ~5,400 ticks) then spans many
    pieces, and writes of two chunks or so."""
    monkeypatch.setattr(importer, "LARGE_CSV_BYTES", 0)
    monkeypatch.setattr(importer, "LARGE_PARQUET_ROWS", 0)
    monkeypatch.setattr(importer, "PIECE_BYTES", 20_000)
    monkeypatch.setattr(importer, "PIECE_ROWS", 700)
    monkeypatch.setattr(spill, "WRITE_ROWS", 10_000)


def _recording(monkeypatch) -> list[pl.DataFrame]:
    writes = []
    write = Lake.write
    monkeypatch.setattr(Lake, "write", lambda self, table, df, **kw: writes.append(df)
                        or write(self, table, df, **kw))
    return writes


def _chunks(df: pl.DataFrame) -> set[tuple]:
    return set(df.select("symbol", pl.col("ts").dt.epoch("d")).unique().iter_rows())


@pytest.mark.parametrize("order", ["ts", "symbol"])  # time-ordered, and a symbol after another
def test_a_large_file_is_stored_as_the_whole_file_would_be(tmp_path, market, in_pieces,
                                                           monkeypatch, order):
    ticks = market.ticks.sort(order, maintain_order=True)
    path = tmp_path / "ticks.csv"
    ticks.write_csv(path)
    assert len(list(importer.read_market_pieces(path))) > 10
    writes = _recording(monkeypatch)
    lake = Lake(tmp_path / "pieces")
    assert lake.ingest(path).rows == ticks.height
    assert lake.ticks().equals(market.ticks)
    # writes of some chunks each, none sharing a (symbol, day): whole chunks
    keys = [_chunks(w) for w in writes]
    assert 1 < len(writes) < len(_chunks(ticks))
    assert sum(map(len, keys)) == len(set().union(*keys)) == len(_chunks(ticks))
    # so the chunks are the ones a whole read makes: either way, ingesting again skips all
    whole = Lake(tmp_path / "whole")
    whole.write_ticks(importer.read_market_file(path)[1])
    assert whole.ingest(path).skipped_rows == ticks.height
    monkeypatch.setattr(importer, "LARGE_CSV_BYTES", 1 << 40)
    assert lake.ingest(path).skipped_rows == ticks.height
    assert lake.ticks().equals(market.ticks)


def test_large_files_named_like_patterns_are_read_alone(tmp_path, market, in_pieces):
    (tmp_path / "t [1]").mkdir()
    pq = tmp_path / "t [1]" / "t*.parquet"
    market.ticks.write_parquet(pq)
    market.ticks.head(10).write_parquet(tmp_path / "t [1]" / "tx.parquet")  # "t*" would match
    lake = Lake(tmp_path / "lake")
    assert lake.ingest(pq).rows == market.ticks.height
    assert lake.ticks().equals(market.ticks)


def test_no_room_for_the_pieces_is_a_store_error_and_writes_nothing(tmp_path, market,
                                                                     in_pieces, monkeypatch):
    import errno

    path = tmp_path / "ticks.csv"
    market.ticks.write_csv(path)

    def full(self, df):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(spill._Spill, "add", full)
    lake = Lake(tmp_path / "lake")
    with pytest.raises(StoreError, match="cannot keep the validated pieces .*No space left"):
        lake.ingest(path)
    assert lake.catalog().height == 0


def test_quotes_of_a_compressed_file_and_of_parquet(tmp_path, market, in_pieces):
    import pyarrow as pa

    gz = tmp_path / "quotes.csv.gz"
    with pa.CompressedOutputStream(str(gz), "gzip") as out:
        out.write(market.quotes.write_csv().encode())
    pq = tmp_path / "ticks.parquet"
    market.ticks.write_parquet(pq)
    lake = Lake(tmp_path / "lake")
    assert lake.ingest([gz, pq]).rows == market.quotes.height + market.ticks.height
    assert lake.quotes().equals(market.quotes) and lake.ticks().equals(market.ticks)


@pytest.mark.parametrize("bad,field", [("-5", "size"), ("abc", "price")])
def test_a_bad_row_in_a_late_piece_is_named_and_nothing_is_written(tmp_path, market,
                                                                   in_pieces, bad, field):
    # "abc" also makes the piece's typed read fail: it is read again as text to name the row
    rows = market.ticks.write_csv().splitlines()
    at = len(rows) - 50  # a data row in one of the last pieces
    fields = rows[at].split(",")
    fields[rows[0].split(",").index(field)] = bad
    rows[at] = ",".join(fields)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n")
    lake = Lake(tmp_path / "lake")
    lake.write_quotes(market.quotes)
    before = sorted(p.read_bytes() for p in lake.root.rglob("*.parquet"))
    with pytest.raises(DataError) as e:
        lake.ingest(path)
    assert (e.value.source, e.value.row, e.value.field) == (str(path), at, field)
    assert sorted(p.read_bytes() for p in lake.root.rglob("*.parquet")) == before
    assert lake.symbols() == sorted(market.quotes["symbol"].unique())
    assert not lake.catalog().filter(pl.col("table") == "ticks").height


def test_pieces_of_a_headerless_file_and_of_an_empty_one(tmp_path, market):
    ticks = market.ticks.head(2_000)
    path = tmp_path / "t.csv"
    ticks.write_csv(path, include_header=False)
    opts = importer.ImportOptions(header=False, columns={
        "ts": "column_1", "symbol": "column_2", "price": "column_3", "size": "column_4",
        "side": "column_5"})
    pieces = list(importer.read_market_pieces(path, opts, piece_bytes=10_000))
    assert len(pieces) > 5 and pl.concat([p.frame for p in pieces]).equals(ticks)
    assert [p.done for p in pieces] == sorted(p.done for p in pieces) and pieces[-1].done == 1
    empty = tmp_path / "holiday.csv"
    empty.write_text("ts,symbol,price,size,side\n")
    (piece,) = importer.read_market_pieces(empty)
    assert piece.table == "ticks" and piece.frame.height == 0
    ticks.head(0).write_parquet(empty := tmp_path / "holiday.parquet")
    (piece,) = importer.read_market_pieces(empty)
    assert piece.frame.height == 0 and piece.done == 1


def test_pieces_keep_the_day_month_order_the_file_proved(tmp_path):
    # a large file of d/m/Y dates: its first piece proves day first (the 13th); a later
    # piece holding only days 1 to 12 proves nothing on its own, and was refused
    days = [f"{d:02d}/{m:02d}/2024 10:00:00" for m, top in ((1, 13), (2, 12))
            for d in range(top, 0, -1)]
    path = tmp_path / "eu.csv"
    path.write_text("ts,symbol,price,size\n" + "".join(f"{t},A,1.5,1\n" for t in days))
    pieces = list(importer.read_market_pieces(path, piece_bytes=200))
    assert len(pieces) >= 4 and pieces[-1].frame["ts"].dt.day().max() <= 12
    got = pl.concat([p.frame for p in pieces])["ts"].dt.strftime("%d/%m/%Y %H:%M:%S")
    assert got.to_list() == days
    # a first piece of days 1 to 12 proves nothing: refused unless told
    path.write_text("ts,symbol,price,size\n" + "".join(f"{t},A,1.5,1\n" for t in days[1:]))
    with pytest.raises(DataError, match="row 1.*could be day/month or month/day"):
        list(importer.read_market_pieces(path, piece_bytes=200))
    told = importer.ImportOptions(day_first=True)
    got = pl.concat([p.frame for p in importer.read_market_pieces(path, told, piece_bytes=200)])
    assert got["ts"].dt.strftime("%d/%m/%Y %H:%M:%S").to_list() == days[1:]


def test_a_wrong_unit_is_said_once_for_a_file_of_many_pieces(tmp_path):
    # epoch seconds over a week read as milliseconds: each piece's values end somewhere else
    # in January 1970, and the warning once named that end: one line per piece
    secs = range(1704205800, 1704205800 + 7 * 86_400, 3_600)
    path = tmp_path / "s.csv"
    path.write_text("ts,symbol,price,size\n" + "".join(f"{t},A,1.5,1\n" for t in secs))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own filter, as a notebook or the CLI has
        pieces = list(importer.read_market_pieces(
            path, importer.ImportOptions(ts_unit="ms"), piece_bytes=300))
    assert len(pieces) > 5
    assert [str(w.message) for w in caught] == [
        f"{path}, field 'ts': epoch values read in ms are times in 1970; in s they would be "
        f"in 2024 (is ts_unit right?)"]


@pytest.mark.parametrize("piece_bytes", [150, 233, 400, 1_000, 10_000])
def test_pieces_place_the_hour_the_clocks_repeated(tmp_path, piece_bytes):
    # New York's clocks went back at 02:00 on 2024-11-03: 01:00-01:59 happened twice; the
    # rows' order places them (the second time starts where the times step back), also
    # when a piece ends in the first pass, at the step, or in the second pass
    utc = [dt.datetime(2024, 11, 3, 4, tzinfo=dt.UTC) + dt.timedelta(minutes=3 * i)
           for i in range(80)]
    ny = ZoneInfo("America/New_York")
    wall = [t.astimezone(ny).strftime("%Y-%m-%d %H:%M:%S") for t in utc]
    assert len(set(wall)) < len(wall)  # some wall-clock times repeat
    path = tmp_path / "ny.csv"
    path.write_text("ts,symbol,price,size\n" + "".join(f"{w},A,1.5,1\n" for w in wall))
    opts = importer.ImportOptions(tz="America/New_York")
    pieces = list(importer.read_market_pieces(path, opts, piece_bytes=piece_bytes))
    assert pl.concat([p.frame for p in pieces])["ts"].to_list() == utc
    assert [p.done for p in pieces] == sorted(p.done for p in pieces)
    # repeated times the order cannot place stay refused, naming the row in the file
    path.write_text("ts,symbol,price,size\n" + "".join(f"{w},A,1.5,1\n" for w in wall[:25]))
    with pytest.raises(DataError, match="row 21.*01:00:00 happened twice"):
        list(importer.read_market_pieces(path, opts, piece_bytes=piece_bytes))


def test_a_zip_in_pieces_reads_as_the_file(tmp_path, market, in_pieces):
    path = tmp_path / "ticks.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ticks.csv", market.ticks.write_csv())
    pieces = list(importer.read_market_pieces(path))
    done = [p.done for p in pieces]
    assert len(pieces) > 10 and done == sorted(done) and done[-1] == 1.0 and done[0] < 0.1
    assert pl.concat([p.frame for p in pieces]).equals(market.ticks)


def test_a_line_longer_than_a_piece_is_read_whole(tmp_path):
    path = tmp_path / "t.csv"
    symbol = "X" * 5_000
    path.write_text("ts,symbol,price,size\n" + f"1704205800,{symbol},1.5,3\n" * 3)
    pieces = list(importer.read_market_pieces(path, piece_bytes=1_000))
    assert pl.concat([p.frame for p in pieces])["symbol"].to_list() == [symbol] * 3


def test_which_files_are_large(tmp_path, market, monkeypatch):
    plain, gz, pq = tmp_path / "t.csv", tmp_path / "t.csv.gz", tmp_path / "t.parquet"
    plain.write_bytes(b"x" * 1000)
    gz.write_bytes(b"x" * 1000)
    market.ticks.head(500).write_parquet(pq)
    small, large = tmp_path / "small.zip", tmp_path / "large.zip"  # (by the file they hold)
    for path, size in ((small, 2_000), (large, 2_001)):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("t.csv", b"x" * size)
    monkeypatch.setattr(importer, "LARGE_CSV_BYTES", 2_000)
    monkeypatch.setattr(importer, "LARGE_PARQUET_ROWS", 499)
    assert [importer.is_large_file(p) for p in (plain, gz, pq, small, large)] == \
        [False, True, True, False, True]
    monkeypatch.setattr(importer, "LARGE_PARQUET_ROWS", 500)
    assert not importer.is_large_file(pq) and not importer.is_large_file(tmp_path / "none.csv")


def test_progress_of_a_large_file(tmp_path, market, in_pieces, capsys, monkeypatch):
    import cift.store.base as base

    monkeypatch.setattr(base, "LARGE_IMPORT_BYTES", 1)  # (a large file is always over it)
    path = tmp_path / "ticks.csv"
    market.ticks.write_csv(path)
    Lake(tmp_path / "lake").ingest(path, progress=True)
    err = capsys.readouterr().err
    assert "ticks.csv: reading" in err and "ticks.csv: writing part 2" in err
