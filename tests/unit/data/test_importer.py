import zipfile
from dataclasses import replace
from datetime import date, time

import polars as pl
import pyarrow as pa
import pytest

import cift.data.importer as importer
from cift.data.importer import ImportOptions, expand_paths, parse_column_map, read_market_file
from cift.data.schema import QUOTES, TICKS
from cift.errors import DataError, ParameterError


@pytest.fixture
def ticks(market):
    return market.ticks.head(500)


def test_csv_with_mapping_and_epoch_ms(tmp_path, ticks):
    path = tmp_path / "t.csv"
    ticks.with_columns(pl.col("ts").dt.epoch("ms")).rename(
        {"ts": "time", "price": "px", "size": "qty"}).write_csv(path)
    table, df = read_market_file(path, ImportOptions(columns={"ts": "time", "price": "px",
                                                              "size": "qty"}, ts_unit="ms"))
    assert table == "ticks" and df.schema == pl.Schema(TICKS)
    assert df.drop("ts").equals(ticks.drop("ts"))
    assert df["ts"].equals(ticks["ts"].dt.truncate("1ms"))


def test_file_names_are_names_not_patterns(tmp_path, ticks):
    # "t*.parquet" names one file: it must not read "trades [2024].parquet" too (a glob
    # did: twice the rows), and "[2024]" is no character class (a glob found no file)
    brackets, star = tmp_path / "trades [2024].parquet", tmp_path / "t*.parquet"
    ticks.write_parquet(brackets)
    ticks.head(7).write_parquet(star)
    assert read_market_file(brackets)[1].equals(ticks)
    assert read_market_file(star)[1].equals(ticks.head(7))


def test_csv_iso_timestamps_round_trip_exactly(tmp_path, ticks):
    path = tmp_path / "t.csv"
    ticks.write_csv(path)  # ISO 8601 with nanoseconds and offset
    assert read_market_file(path)[1].equals(ticks)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_separator_is_read_off_the_header(tmp_path, ticks, sep):
    path = tmp_path / "t.csv"  # .csv whatever the separator, as exports often are
    ticks.write_csv(path, separator=sep)
    assert read_market_file(path)[1].equals(ticks)


def test_explicit_separator_wins_and_bad_ones_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ts;symbol;price;size\n2024-01-02T14:30:00Z;A,B;1.5;3\n")
    assert read_market_file(path)[1]["symbol"].to_list() == ["A,B"]
    with pytest.raises(DataError, match="separated by ','"):  # two fields, one column
        read_market_file(path, ImportOptions(separator=","))
    for bad in ("", ";;", '"', "\n"):
        with pytest.raises(ParameterError, match="separator"):
            ImportOptions(separator=bad)


@pytest.mark.parametrize("option", ["header", "decimal_comma", "day_first", "buyer_maker"])
def test_switches_take_true_or_false_only(option):
    for bad in ("no", 0, 1, "False"):  # "no" and "False" are truthy: read as True
        with pytest.raises(ParameterError, match=f"{option}: expected True or False"):
            ImportOptions(**{option: bad})
    assert getattr(ImportOptions(**{option: False}), option) is False


def test_decimal_commas(tmp_path):
    path = tmp_path / "de.csv"
    path.write_text("ts;symbol;price;size\n2024-01-02T08:00:01Z;A,B;185,30;100\n"
                    "2024-01-02T08:00:02Z;SAP;-0,5;1,25\n")
    with pytest.raises(DataError, match=r"got '185,30' \(a decimal comma\? the decimal_comma"):
        read_market_file(path)
    options = ImportOptions(decimal_comma=True)
    df = read_market_file(path, options)[1]
    assert df["price"].to_list() == [185.3, -0.5] and df["size"].to_list() == [100.0, 1.25]
    assert df["symbol"].to_list() == ["A,B", "SAP"]  # text keeps its commas
    # the text reader (when the typed read fails) reads them alike
    raw = importer._read_raw(path, ";", options, as_text=True)
    assert importer._validated(raw, options, "de.csv")[1].equals(df)
    bad = tmp_path / "bad.csv"
    bad.write_text("ts;symbol;price;size\n2024-01-02T08:00:01Z;A;1,2,3;1\n")
    with pytest.raises(DataError, match="row 1, field 'price'") as e:
        read_market_file(bad)
    assert "decimal comma?" not in str(e.value)  # no hint for what is no number at all


def test_binance_buyer_maker_flags_are_sides(tmp_path):
    # Binance's aggTrades downloads: a zip of one CSV, no header, epoch us (spot since
    # 2025), is_buyer_maker True where the seller hit the resting bid: a sell (-1)
    path = tmp_path / "BTCUSDT-aggTrades-2025-01-02.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-aggTrades-2025-01-02.csv",
                         "1,94000.1,0.01,1,1,1735776000123456,True,True\n"
                         "2,94000.2,0.50,2,3,1735776000223456,False,True\n")
    columns = {"price": "column_2", "size": "column_3", "ts": "column_6", "side": "column_7"}
    told = ImportOptions(header=False, symbol="BTCUSDT", columns=columns)
    with pytest.raises(DataError, match=r"field 'side'.*got true/false.*--buyer-maker"):
        read_market_file(path, told)  # true/false is no side until told what it means
    df = read_market_file(path, replace(told, buyer_maker=True))[1]
    assert df["side"].to_list() == [-1, 1] and df["price"].to_list() == [94000.1, 94000.2]
    assert df["ts"].dt.epoch("us").to_list() == [1735776000123456, 1735776000223456]
    # the files with a header line name the flag is_buyer_maker: found without a map
    path = tmp_path / "BTCUSDT-trades-2025-01-02.csv"
    path.write_text("id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n"
                    "1,94000.1,0.01,940.001,1735776000123456,true,true\n")
    df = read_market_file(path, ImportOptions(symbol="BTCUSDT", buyer_maker=True,
                                              columns={"size": "qty", "ts": "time"}))[1]
    assert df["side"].to_list() == [-1] and df["size"].to_list() == [0.01]
    with pytest.warns(UserWarning, match="sides are in is_buyer_maker.*--buyer-maker"):
        df = read_market_file(path, ImportOptions(symbol="BTCUSDT", columns={
            "size": "qty", "ts": "time"}))[1]
    assert df["side"].to_list() == [0]  # (stored as unknown, if that is what is wanted)


@pytest.mark.parametrize("flags,sides", [
    (pl.Series([True, False, True]), [-1, 1, -1]),
    (pl.Series(["true", " FALSE", "1"]), [-1, 1, -1]),  # text (a Parquet export, or "0")
    (pl.Series([0, 1, 0], dtype=pl.UInt8), [1, -1, 1]),
])
def test_buyer_maker_reads_flags_of_any_type(tmp_path, flags, sides):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"ts": [1, 2, 3], "symbol": "X", "price": 1.0, "size": 1.0,
                  "m": flags}).write_parquet(path)
    options = ImportOptions(columns={"side": "m"}, buyer_maker=True)
    assert read_market_file(path, options)[1]["side"].to_list() == sides


def test_buyer_maker_refuses_what_is_no_flag(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ts,symbol,price,size,m\n1,X,1.0,1,true\n2,X,1.0,1,maybe\n3,X,1.0,1,\n")
    options = ImportOptions(columns={"side": "m"}, buyer_maker=True)
    with pytest.raises(DataError, match=r"row 2, field 'side': buyer_maker: expected true "
                                        r"or false, got 'maybe'"):
        read_market_file(path, options)
    path.write_text("ts,symbol,price,size,m\n1,X,1.0,1,true\n2,X,1.0,1,\n")
    with pytest.raises(DataError, match="row 2, field 'side': missing value"):
        read_market_file(path, options)
    path.write_text("ts,symbol,price,size,m\n1,X,1.0,1,2\n")
    with pytest.raises(DataError, match="row 1, field 'side': buyer_maker: expected true"):
        read_market_file(path, options)
    path.write_text("ts,symbol,price,size\n1,X,1.0,1\n")  # no flag column mapped
    with pytest.raises(DataError, match="no side column to read the buyer-is-maker flag"):
        read_market_file(path, ImportOptions(buyer_maker=True))


def _parsed(path, options):
    """The columns the typed read parses, the file opened as read_market_file opens it."""
    sep, options, keep = importer._open(path, options)
    return importer._read_raw(path, sep, options, keep, as_text=False).columns


def test_only_the_columns_cift_reads_are_parsed(tmp_path):
    # Polygon's trades: 13 columns, of which cift reads ticker, sip_timestamp, price, size
    path = tmp_path / "2024-01-02.csv"
    path.write_text("ticker,conditions,correction,exchange,id,participant_timestamp,price,"
                    "sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp\n"
                    'AAPL,"12,37",0,4,52983525034,1704205800123456000,185.5,1,'
                    "1704205800123457000,100,3,,\n")
    options = ImportOptions(columns={"symbol": "ticker", "ts": "sip_timestamp"})
    assert _parsed(path, options) == ["ticker", "price", "sip_timestamp", "size"]
    df = read_market_file(path, options)[1]
    assert df.row(0)[1:] == ("AAPL", 185.5, 100.0, 0)
    assert df["ts"].dt.epoch("ns").to_list() == [1704205800123457000]
    # without a header: the mapped positions, named as the map names them
    headerless = tmp_path / "h.csv"
    headerless.write_text("x,1704205800123,y,185.5,z,100,w\n")
    options = ImportOptions(header=False, symbol="A", columns={
        "ts": "column_2", "price": "column_4", "size": "column_6"})
    assert _parsed(headerless, options) == ["column_2", "column_4", "column_6"]
    assert read_market_file(headerless, options)[1]["price"].to_list() == [185.5]
    # an error about the columns lists all the file's, not only those parsed
    with pytest.raises(DataError, match=r"\['tickr'\] named in the column map are not in "
                                        r"the file \(it has \['ticker', 'conditions', "):
        read_market_file(path, ImportOptions(columns={"ts": "sip_timestamp",
                                                      "symbol": "tickr"}))
    no_price = ImportOptions(columns={"ts": "sip_timestamp", "last": "price"})  # (renamed)
    with pytest.raises(DataError, match=r"cannot tell ticks from quotes by the columns "
                                        r"\['ticker', 'conditions', .*'trf_timestamp'\]"):
        read_market_file(path, no_price)
    # Parquet alike, whole and in pieces
    wide = tmp_path / "wide.parquet"
    pl.read_csv(path).write_parquet(wide)
    options = ImportOptions(columns={"symbol": "ticker", "ts": "sip_timestamp"})
    assert _parsed(wide, options) == ["ticker", "price", "sip_timestamp", "size"]
    pieces = list(importer.read_market_pieces(wide, options, piece_rows=1))
    assert [p.frame.row(0) for p in pieces] == [df.row(0)]


def test_quotes_without_sizes_get_unknown_sizes(tmp_path):
    # a forex feed (TrueFX): no header, no sizes, compact dates
    path = tmp_path / "EURUSD-2024-01.csv"
    path.write_text("EUR/USD,20240102 00:00:00.123,1.10427,1.10432\n"
                    "EUR/USD,20240102 00:00:00.456,1.10428,1.10433\n")
    table, df = read_market_file(path, ImportOptions(header=False, columns={
        "symbol": "column_1", "ts": "column_2", "bid_px": "column_3", "ask_px": "column_4"}))
    assert table == "quotes" and df.schema == pl.Schema(QUOTES)
    assert df["bid_sz"].to_list() == df["ask_sz"].to_list() == [0.0, 0.0]
    assert df["ts"].dt.epoch("ms").to_list() == [1704153600123, 1704153600456]
    half = tmp_path / "half.csv"  # one size and not the other: a mistake, named
    half.write_text("ts,symbol,bid_px,ask_px,bid_sz\n2024-01-02T00:00:00Z,A,1.0,1.1,5\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['ask_sz'\]"):
        read_market_file(half)


def test_excel_export_with_bom_and_crlf(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfts,symbol,price,size\r\n1704205800123,AAPL,185.5,100\r\n")
    df = read_market_file(path, ImportOptions(ts_unit="ms"))[1]
    assert df.columns == list(TICKS) and df["symbol"].to_list() == ["AAPL"]
    assert df["ts"].dt.epoch("ms").to_list() == [1704205800123] and df["size"][0] == 100.0


def test_parquet_quotes_inferred(tmp_path, market):
    path = tmp_path / "q.parquet"
    market.quotes.head(100).write_parquet(path)
    table, df = read_market_file(path)
    assert table == "quotes" and df.schema == pl.Schema(QUOTES)
    assert df.equals(market.quotes.head(100))


def test_symbol_option_and_missing_side(tmp_path):
    path = tmp_path / "aapl.csv"
    path.write_text("ts,price,size\n2024-01-02 09:30:00,185.5,100\n2024-01-02 09:30:01,185.6,50\n")
    _, df = read_market_file(path, ImportOptions(symbol="AAPL", tz="America/New_York"))
    assert df["symbol"].to_list() == ["AAPL", "AAPL"] and df["side"].to_list() == [0, 0]
    assert df["ts"][0].isoformat().startswith("2024-01-02T14:30:00")


@pytest.mark.parametrize("text,tz,utc_ns", [
    # hand-computed: 2024-01-02T14:30:00Z is 1704205800 s after the epoch
    ("2024-01-02 09:30:00.123456789", "America/New_York", 1704205800_123456789),
    ("2024-01-02T14:30:00.5Z", None, 1704205800_500000000),
    ("2024-01-02T15:30:00.000000001+01:00", None, 1704205800_000000001),
    ("2024-01-02", None, 1704153600_000000000),
])
def test_iso_variants_parse_to_exact_utc_ns(tmp_path, text, tz, utc_ns):
    path = tmp_path / "t.csv"
    path.write_text(f"ts,symbol,price,size\n{text},A,1.5,1\n")
    _, df = read_market_file(path, ImportOptions(tz=tz))
    assert df["ts"].to_physical().to_list() == [utc_ns]


def test_column_names_in_another_case_or_spaced_are_found(tmp_path):
    # spreadsheet exports: "Symbol", "Price"; hand-written files: "ts, symbol, price"
    path = tmp_path / "t.csv"
    path.write_text("TS, Symbol ,Price,SIZE\n2024-01-02T14:30:00Z, 0700 ,1.5,10\n"
                    "2024-01-02T14:30:01Z,0700  ,1.25,5\n")
    table, df = read_market_file(path)
    assert table == "ticks" and df.columns == list(TICKS)
    assert df["symbol"].to_list() == ["0700", "0700"]  # text, trimmed (not the number 700)
    assert df["price"].to_list() == [1.5, 1.25]
    pq = tmp_path / "t.parquet"
    pl.read_csv(path).rename(lambda c: c.strip()).write_parquet(pq)
    assert read_market_file(pq)[1].drop("symbol").equals(df.drop("symbol"))
    # an explicit map wins; two columns that both fit are not guessed between
    both = tmp_path / "both.csv"
    both.write_text("ts,symbol,Price,PRICE,size\n2024-01-02T14:30:00Z,A,1,2,10\n")
    with pytest.raises(DataError, match="cannot tell ticks from quotes"):
        read_market_file(both)
    assert read_market_file(both, ImportOptions(columns={"price": "PRICE"}))[1]["price"][0] == 2
    # the symbol option wins over a column that only resembles "symbol"
    named = read_market_file(path, ImportOptions(symbol="HK.0700"))[1]
    assert named["symbol"].to_list() == ["HK.0700"] * 2


def test_padded_symbols_of_a_csv_are_trimmed(tmp_path):
    path = tmp_path / "fixed.csv"  # fixed-width columns turned into CSV
    path.write_text("ts,symbol,price,size\n2024-01-02T14:30:00Z,AAPL,1.5,10\n"
                    "2024-01-02T14:30:01Z,A   ,2.5,10\n2024-01-02T14:30:02Z,   ,2.5,10\n")
    with pytest.raises(DataError, match="row 3, field 'symbol'.*empty"):
        read_market_file(path)
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    assert read_market_file(path)[1]["symbol"].to_list() == ["AAPL", "A"]


_DATE_TIME = {"ts": "Date+Time", "price": "Last", "size": "Qty"}


@pytest.mark.parametrize("body,options,utc_ns", [
    # hand-computed: 2024-02-13T14:30:00Z is 1707834600 s after the epoch
    ("Date,Time,Last,Qty\n13/02/2024,09:30:00.25,1.5,1\n", {"tz": "America/New_York"},
     1707834600_250000000),  # the day/month order proven by the 13
    ("Date;Time;Last;Qty\n20240213;093000;1.5;1\n",  # 093000 keeps its zero
     {"tz": "America/New_York", "ts_format": "%Y%m%d %H%M%S"}, 1707834600_000000000),
    ("Date,Time,Last,Qty\n2024-02-13,14:30:00.000000001,1.5,1\n", {}, 1707834600_000000001),
])
def test_date_and_time_columns_make_the_timestamp(tmp_path, body, options, utc_ns):
    path = tmp_path / "t.csv"
    path.write_text(body)
    _, df = read_market_file(path, ImportOptions(columns=_DATE_TIME, symbol="X", **options))
    assert df["ts"].to_physical().to_list() == [utc_ns] and df.columns == list(TICKS)


def test_date_and_time_columns_of_parquet_and_their_errors(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"Date": [date(2024, 2, 13)], "Time": [time(14, 30, 0, 500)], "Last": [1.5],
                  "Qty": [1.0]}).write_parquet(path)
    _, df = read_market_file(path, ImportOptions(columns=_DATE_TIME, symbol="X"))
    assert df["ts"].to_physical().to_list() == [1707834600_000500000]
    with pytest.raises(DataError, match=r"\['Hour'\] of ts='Date\+Hour'") as e:
        read_market_file(path, ImportOptions(columns={**_DATE_TIME, "ts": "Date+Hour"}))
    assert e.value.field == "ts"
    # a column whose very name has a + is that column
    literal = tmp_path / "u.csv"
    literal.write_text("a+b,symbol,price,size\n2024-02-13T14:30:00Z,X,1.5,1\n")
    _, df = read_market_file(literal, ImportOptions(columns={"ts": "a+b"}))
    assert df["ts"].to_physical().to_list() == [1707834600_000000000]


def test_numeric_looking_symbols_stay_text(tmp_path):
    path = tmp_path / "hk.csv"
    path.write_text("ts,symbol,price,size,side\n1704205800,0700,300.2,100,1\n")
    assert read_market_file(path)[1]["symbol"].to_list() == ["0700"]


@pytest.mark.parametrize("body,row,field", [
    ("ts,symbol,price,size,side\n1,A,1.0,1,1\n2,A,abc,1,1\n", 2, "price"),
    ("ts,symbol,price,size,side\n1,A,1.0,1,1\n2,A,1.0,-3,1\n", 2, "size"),
    ("ts,symbol,price,size,side\n1,A,NaN,1,1\n", 1, "price"),
    ("ts,symbol,price,size,side\n2024-01-02,A,1.0,1,1\nnever,A,1.0,1,1\n", 2, "ts"),
    ("ts,symbol,price,size,side\n" + "1,A,1.0,1,1\n" * 20_000 + "1,A,1.0,x,1\n", 20_001, "size"),
    ("ts,symbol,price,size,side\n,A,1.0,1,1\n,A,1.0,2,1\n", 1, "ts"),  # an empty column
])
def test_bad_rows_are_named(tmp_path, body, row, field):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(DataError) as e:
        read_market_file(path)
    assert (e.value.source, e.value.row, e.value.field) == (str(path), row, field)


def test_a_file_with_a_header_and_no_rows_imports_nothing(tmp_path):
    # (vendors ship a holiday's file so: its columns have no values to type them by)
    path = tmp_path / "holiday.csv"
    path.write_text("ts,symbol,price,size,side\n")
    table, df = read_market_file(path)
    assert table == "ticks" and df.height == 0 and df.schema == pl.Schema(TICKS)


def _compress(path, text: str, codec: str) -> None:
    if codec == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("file.csv", text)
        return
    with pa.CompressedOutputStream(str(path), codec) as out:
        out.write(text.encode())


@pytest.mark.parametrize("suffix,codec", [(".csv.gz", "gzip"), (".csv.bz2", "bz2"),
                                          (".csv.zst", "zstd"), (".tsv.lz4", "lz4")])
def test_compressed_csv_reads_as_the_plain_file(tmp_path, ticks, suffix, codec):
    path = tmp_path / f"t{suffix}"
    _compress(path, ticks.write_csv(separator="\t" if ".tsv" in suffix else ";"), codec)
    assert read_market_file(path)[1].equals(ticks)  # the separator is read off the header
    assert expand_paths([tmp_path]) == [path]


def test_a_zip_of_one_csv_reads_as_the_file(tmp_path, ticks):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("t/ticks.csv", ticks.write_csv(separator=";"))
        archive.writestr("__MACOSX/t/._ticks.csv", b"\x00\x05\x16\x07")  # (a Mac's zip)
    assert read_market_file(path)[1].equals(ticks)
    assert expand_paths([tmp_path]) == [path]
    with zipfile.ZipFile(path, "a") as archive:  # (HistData's: the data and a report)
        archive.writestr("t/report.txt", "file: ticks.csv\ngaps: none\n")
    assert read_market_file(path)[1].equals(ticks)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("t/more.csv", ticks.write_csv())
    with pytest.raises(DataError, match=r"t.zip: a .zip must hold one CSV file; this one "
                                        r"holds 3 \(\['t/ticks.csv', 't/report.txt', "):
        read_market_file(path)
    path.write_bytes(b"PK\x03\x04 cut short")  # a download that stopped
    with pytest.raises(DataError, match="t.zip: cannot read the file"):
        read_market_file(path)


@pytest.mark.parametrize("suffix,codec", [(".csv.gz", "gzip"), (".csv.bz2", "bz2"),
                                          (".zip", "zip")])
def test_bad_rows_of_compressed_files_are_named(tmp_path, suffix, codec):
    path = tmp_path / f"bad{suffix}"
    _compress(path, "ts,symbol,price,size,side\n1,A,1.0,1,1\n2,A,1.0,x,1\n", codec)
    with pytest.raises(DataError) as e:
        read_market_file(path)
    assert (e.value.row, e.value.field) == (2, "size")


def test_unknown_compression_and_a_corrupt_file_are_refused(tmp_path, ticks):
    xz = tmp_path / "t.csv.xz"
    xz.write_bytes(b"\xfd7zXZ\x00")
    with pytest.raises(DataError, match="unknown file type.*gz"):
        read_market_file(xz)
    corrupt = tmp_path / "t.csv.gz"
    corrupt.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read the file"):
        read_market_file(corrupt)
    assert expand_paths([tmp_path]) == [corrupt]  # .xz is not picked up from a directory


def test_headerless_files_name_columns_by_position(tmp_path, ticks):
    # as exchanges' bulk downloads come: no header, an epoch-ms time among other columns
    path = tmp_path / "trades.csv.gz"
    raw = ticks.select(pl.int_range(pl.len()).alias("id"), "price", "size",
                       pl.col("ts").dt.epoch("ms"), "symbol", "side")
    _compress(path, raw.write_csv(include_header=False, separator=";"), "gzip")
    opts = ImportOptions(header=False, ts_unit="ms", columns={
        "ts": "column_4", "price": "column_2", "size": "column_3", "symbol": "column_5",
        "side": "column_6"})
    table, df = read_market_file(path, opts)
    assert table == "ticks" and df.drop("ts").equals(ticks.drop("ts"))
    assert df["ts"].equals(ticks["ts"].dt.truncate("1ms"))
    # the first line is data: a bad value there is row 1
    bad = tmp_path / "bad.csv"
    bad.write_text("1704205800000,A,1.5,-1,1\n1704205800001,A,1.5,1,1\n")
    with pytest.raises(DataError) as e:
        read_market_file(bad, ImportOptions(header=False, columns={
            "ts": "column_1", "symbol": "column_2", "price": "column_3", "size": "column_4",
            "side": "column_5"}))
    assert (e.value.row, e.value.field) == (1, "size")
    with pytest.raises(DataError, match="column_9"):  # a map past the last column
        read_market_file(bad, ImportOptions(header=False, columns={"ts": "column_9"}))


def test_symbols_of_a_headerless_file_stay_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1704205800,0700,300.2,100,1\n")
    df = read_market_file(path, ImportOptions(header=False, columns={
        "ts": "column_1", "symbol": "column_2", "price": "column_3", "size": "column_4",
        "side": "column_5"}))[1]
    assert df["symbol"].to_list() == ["0700"]


def test_missing_column_and_bad_map(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ts,symbol,price\n1,A,1.0\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['size'\]"):
        read_market_file(path)
    with pytest.raises(DataError, match="'volume'.*not in the file"):
        read_market_file(path, ImportOptions(columns={"size": "volume"}))


def test_unknown_type_and_missing_file(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unknown file type"):
        read_market_file(tmp_path / "x.json")
    with pytest.raises(DataError, match="no such file"):
        read_market_file(tmp_path / "none.csv")


def test_cannot_tell_table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ts,symbol,value\n1,A,1\n")
    with pytest.raises(DataError, match="cannot tell ticks from quotes"):
        read_market_file(path)


def test_parse_column_map():
    assert parse_column_map("ts=time, price = px") == {"ts": "time", "price": "px"}
    assert parse_column_map(None) == {}
    with pytest.raises(ParameterError, match="NAME=COLUMN"):
        parse_column_map("ts:time")


def test_expand_paths(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / ".ipynb_checkpoints").mkdir()
    for name in ("b.csv", "a.parquet", "notes.md", "._b.csv", ".ipynb_checkpoints/b.csv"):
        (tmp_path / "d" / name).write_text("")
    assert [p.name for p in expand_paths([tmp_path / "d"])] == ["a.parquet", "b.csv"]
    # a directory named is read whatever its own name or its parents' (hidden or not)
    hidden = tmp_path / ".cache" / "ticks"
    hidden.mkdir(parents=True)
    (hidden / "t.csv").write_text("")
    assert expand_paths([hidden]) == [hidden / "t.csv"]
    assert expand_paths([tmp_path / "d" / "._b.csv"]) == [tmp_path / "d" / "._b.csv"]
