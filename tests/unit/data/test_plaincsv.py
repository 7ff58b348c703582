"""cift's plain-CSV parser against Arrow's reader, the reference it stands in for.

Every file the parser takes must come out exactly as Arrow reads it (values, types, column
order); every file it declines must be declined (None), so the importer reads it with Arrow
and says what it always said.
"""

import datetime as dt
import math
import random
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cift.data.importer as importer
import cift.data.plaincsv as plaincsv
from cift.data.importer import ImportOptions, read_market_file
from cift.data.plaincsv import read_plain_csv
from cift.errors import DataError


def arrow(path, sep=",", keep=None, symbol="symbol"):
    """What the importer's Arrow read gives for the file (times in ns: Arrow reads times
    without a fraction as seconds, which validation turns into ns either way)."""
    table = pa_csv.read_csv(
        path, parse_options=pa_csv.ParseOptions(delimiter=sep),
        convert_options=pa_csv.ConvertOptions(column_types={symbol: pa.string()},
                                              null_values=[""], include_columns=keep))
    df = pl.from_arrow(table)
    if symbol in df.columns:
        df = df.with_columns(pl.col(symbol).str.strip_chars(" "))
    return df.with_columns(pl.col(pl.Datetime).dt.cast_time_unit("ns"))


def write(path, text):
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def assert_same(path, sep=",", keep=None, symbol="symbol", threads=None):
    got = read_plain_csv(path, sep, keep, symbol, threads)
    assert got is not None, "declined a plain file"
    ref = arrow(path, sep, keep, symbol)
    if symbol in ref.columns:  # an Enum of the distinct symbols, in order of first appearance
        assert got.schema[symbol] == pl.Enum(ref[symbol].unique(maintain_order=True))
        got = got.with_columns(pl.col(symbol).cast(pl.String))
    assert got.schema == ref.schema
    assert got.equals(ref)  # (NaN-free: equals compares floats bit for bit but -0.0 == 0.0)
    for name in ref.columns:
        if ref.schema[name] == pl.Float64:  # signs of zeros too
            signs = [math.copysign(1, v) for v in got[name].to_list()]
            assert signs == [math.copysign(1, v) for v in ref[name].to_list()]
    return got


HEADER = "ts,symbol,price,size,side\n"


@pytest.mark.parametrize("ts", [
    "2024-01-02T14:30:00.013932323+0000", "2024-01-02T14:30:00+00:00", "2024-01-02T14:30:00Z",
    "2024-01-02 14:30:00", "2024-01-02T14:30:00.5", "2024-01-02T14:30:00.123456",
    "2024-02-29T23:59:59.999999999-05:30", "1999-12-31T19:00:00+0530", "2024-01-02T09:30:00-01",
    "1704205800123456789", "1704205800"])
def test_timestamps_as_arrow_reads_them(tmp_path, ts):
    path = write(tmp_path / "t.csv", HEADER + f"{ts},A,1.5,100,1\n{ts},B,2.5,200,-1\n")
    assert_same(path)


@pytest.mark.parametrize("digits", range(1, 11))
@pytest.mark.parametrize("last", ["\n", ""])  # the last line with and without its newline
def test_fractions_of_every_length_where_the_text_ends_or_goes_on(tmp_path, digits, last):
    fraction = "".join(str((7 * k + 3) % 10) for k in range(digits))
    for zone in ("Z", ""):
        time = f"2024-01-02T14:30:01.{fraction}{zone}"
        text = HEADER + f"2024-01-02T14:30:00{zone},A,1.5,100,1\n" + f"{time},A,1.5,100,1{last}"
        path = write(tmp_path / "t.csv", text)
        if digits > 9:  # (finer than nanoseconds: left to Arrow's reader)
            assert read_plain_csv(path, ",", None, "symbol") is None
            continue
        assert_same(path)
        ends = write(tmp_path / "u.csv", f"price,symbol,ts\n1.5,A,{time}{last}")  # time last
        assert_same(ends)


@pytest.mark.parametrize("price", [
    "16.35", "16", "-16.35", "0.000012345", "1e3", "1.5E-7", "2e+2", ".5", "5.", "007", "-0",
    "-0.0", "123456789012345", "9007199254740993", "0.1", "3.14159265358979", "1e22", "1e-22"])
def test_numbers_as_arrow_reads_them(tmp_path, price):
    # mixed with an integer and a float, so the column is float either way
    text = HEADER + f"2024-01-02T14:30:00Z,A,{price},100,1\n2024-01-02T14:30:01Z,A,7,1.5,0\n"
    assert_same(write(tmp_path / "t.csv", text))
    alone = HEADER + f"2024-01-02T14:30:00Z,A,{price},100,1\n"  # int64 when only integers
    assert_same(write(tmp_path / "u.csv", alone))


def test_big_integers_stay_exact(tmp_path):
    text = ("ts,symbol,price,size,side\n"
            "2024-01-02T14:30:00Z,A,1,9223372036854775807,-9223372036854775808\n")
    got = assert_same(write(tmp_path / "t.csv", text))
    assert got["size"].to_list() == [2 ** 63 - 1] and got["side"].to_list() == [-2 ** 63]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separators_line_ends_and_padding(tmp_path, sep):
    rows = ["ts,symbol,price,size,side", "2024-01-02T14:30:00Z,  ES=F ,1.25,3,1",
            "2024-01-02T14:30:01Z,BRK.B,2,4,-1", "2024-01-02T14:30:02Z,^GSPC,3.5,5,0"]
    text = "\r\n".join(r.replace(",", sep) for r in rows)  # CRLF, no newline at the end
    got = assert_same(write(tmp_path / "t.csv", text), sep)
    assert got["symbol"].to_list() == ["ES=F", "BRK.B", "^GSPC"]


def test_a_symbol_last_on_crlf_lines(tmp_path):
    text = "ts,price,symbol\r\n2024-01-02T14:30:00Z,1.5, AAPL \r\n2024-01-02T14:30:01Z,2,MSFT\r\n"
    got = assert_same(write(tmp_path / "t.csv", text))
    assert got["symbol"].to_list() == ["AAPL", "MSFT"]


def test_only_the_kept_columns_in_their_order(tmp_path):
    text = ("id,symbol,venue,ts,price,size,cond\n"  # (an empty field of a column not read)
            "1,A,XNAS,2024-01-02T14:30:00Z,1.5,100,@ F\n2,B,,2024-01-02T14:30:01Z,2,5,\n")
    path = write(tmp_path / "t.csv", text)
    got = assert_same(path, keep=["symbol", "ts", "price", "size"])
    assert got.columns == ["symbol", "ts", "price", "size"]
    assert read_plain_csv(path, ",", None, "symbol") is None  # all: cond is empty in row 2


@pytest.mark.parametrize("text", [
    # Databento's trades (side A/B/N), Tardis' (exchange, buy/sell), text kept as written
    "ts_event,action,side,price,size,symbol\n"
    "2024-01-02T14:30:00.000000001Z,T,A,187.5,100,AAPL\n"
    "2024-01-02T14:30:00.5Z,T,N,187.51,5,MSFT\n2024-01-02T14:30:01Z,T,B,187.5,1,AAPL\n",
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    "binance,BTCUSDT,1704205800123456,1704205800123999,9001,buy,42000.5,0.012\n"
    "binance,BTCUSDT,1704205800223456,1704205800223999,9002,sell,42000.4,1\n",
    "ts,symbol,price,venue\n2024-01-02T14:30:00Z,A,1.5, XNAS\n2024-01-02T14:30:01Z,A,2,7\n",
])
def test_text_columns_as_arrow_reads_them(tmp_path, text):
    assert_same(write(tmp_path / "t.csv", text))


@pytest.mark.parametrize("text", [
    "ts,symbol,price,is_buyer_maker\n2024-01-02T14:30:00Z,A,1.5,True\n",  # Arrow: booleans
    "ts,symbol,price,day\n2024-01-02T14:30:00Z,A,1.5,2024-01-02\n",  # Arrow: dates
    "ts,symbol,price,side\n2024-01-02T14:30:00Z,A,1.5,1\n2024-01-02T14:30:00Z,A,1.5,B\n",
])
def test_declines_text_arrow_types_otherwise_or_late(tmp_path, text):
    assert read_plain_csv(write(tmp_path / "t.csv", text), ",", None, "symbol") is None


def test_text_in_memory_reads_as_the_file(tmp_path):
    text = HEADER + "2024-01-02T14:30:00Z,A,1.5,100,1\n2024-01-02T14:30:01Z,B,2,5,-1\n"
    path = write(tmp_path / "t.csv", text)
    assert read_plain_csv(text.encode(), ",", None, "symbol").equals(assert_same(path))


def test_symbols_beyond_the_first_table_and_in_utf8(tmp_path):
    rng = random.Random(3)
    names = [f"S{i}" for i in range(5000)] + ["Société", "株式", "ESZ4 C5000 20241220"]
    lines = [f"2024-01-02T14:30:{i % 60:02d}Z,{rng.choice(names)},{i}.25,1,1"
             for i in range(20000)]
    got = assert_same(write(tmp_path / "t.csv", HEADER + "\n".join(lines) + "\n"))
    assert got["symbol"].n_unique() > 2048  # (the first table holds 2048)


def test_pieces_on_threads_join_in_file_order(tmp_path, monkeypatch):
    monkeypatch.setattr(plaincsv, "_PART_BYTES", 1000)
    lines = [f"2024-01-02T14:30:{i % 60:02d}.{i:06d}Z,{'AB'[i % 2]}{i % 7},{i / 8},{i},"
             f"{i % 3 - 1}" for i in range(3000)]
    # floats start late in the second piece: its integers before must become floats too
    lines[2500] = lines[2500].rsplit(",", 2)[0] + ",1.5,1"
    path = write(tmp_path / "t.csv", HEADER + "\n".join(lines) + "\n")
    for threads in (1, 2, 3, 7):
        got = assert_same(path, threads=threads)
    assert got["size"].dtype == pl.Float64 and got["size"][2499] == 2499.0


@pytest.mark.parametrize("row", [
    '2024-01-02T14:30:00Z,"A",1,1,1',  # quotes
    "2024-01-02T14:30:00Z,,1,1,1",  # an empty field: a missing value
    "2024-01-02T14:30:00Z,A,,1,1",
    "2024-01-02T14:30:00Z,A,1,1",  # too few fields
    "2024-01-02T14:30:00Z,A,1,1,1,9",  # too many
    "2024-01-02T14:30:00Z,A,+5,1,1",  # Arrow reads +5 as a float; left to it
    "2024-01-02T14:30:00Z,A,nan,1,1", "2024-01-02T14:30:00Z,A,inf,1,1",
    "2024-01-02T14:30:00Z,A,1.2345678901234567,1,1",  # beyond 53 bits
    "2024-01-02T14:30:00Z,A,1e300,1,1", "2024-01-02T14:30:00Z,A,99999999999999999999,1,1",
    "2024-01-02T14:30:00Z,A,1.5x,1,1", "2024-01-02T14:30:00Z,A, 1.5,1,1",
    "2024-01-02T14:30:00.1234567891Z,A,1,1,1",  # ten digits of fraction
    "2024-01-02,A,1,1,1", "2024-01-02T14:30Z,A,1,1,1",  # a date; no seconds
    "2024-02-30T14:30:00Z,A,1,1,1", "2024-01-02T24:00:00Z,A,1,1,1",
    "2024-01-02T23:59:60Z,A,1,1,1", "2024-01-02T14:30:00+2500,A,1,1,1",
    "2024-01-02T14:30:00 ,A,1,1,1", "2024-1-2T14:30:00,A,1,1,1",
    "2024-01-02T14:30:00Z,A\rB,1,1,1",  # a lone CR ends a line for Arrow
    "2024-01-02T14:30:00,A,1,1,1",  # naive after a zoned row
    "2024-01-02T14:30:00Z,A,1,1,1\n",  # an empty line
    "1704205800,A,1,1,1",  # epoch digits after a time
    "2024-01-02T14:30:00Z,\xff,1,1,1",  # not UTF-8
])
def test_declines_what_it_does_not_take(tmp_path, row):
    text = HEADER + "2024-01-02T14:30:00Z,A,1.5,100,1\n" + row + "\n"
    data = text.encode("latin-1") if "\xff" in row else text.encode()
    assert read_plain_csv(write(tmp_path / "t.csv", data), ",", None, "symbol") is None


@pytest.mark.parametrize("text", [
    '"ts",symbol,price\n2024-01-02T14:30:00Z,A,1\n',  # a quoted header
    "\ufeffts,symbol,price\n2024-01-02T14:30:00Z,A,1\n",  # a byte order mark
    "ts,symbol,price\n",  # no rows
    "ts,ts,price\n2024-01-02T14:30:00Z,2024-01-02T14:30:00Z,1\n",  # a name twice
])
def test_declines_headers_it_does_not_take(tmp_path, text):
    assert read_plain_csv(write(tmp_path / "t.csv", text), ",", None, "symbol") is None


def test_declines_other_separators(tmp_path):
    path = write(tmp_path / "t.csv", "ts:price\n2024-01-02T14:30:00Z:1\n")
    assert read_plain_csv(path, ":", None, "symbol") is None


_TIMES = st.builds(  # near minute, hour, day, month and year ends, leap days included
    lambda day, second, frac, zone: (dt.datetime(2023, 12, 31, 23, 58)
                                     + dt.timedelta(days=day, seconds=second)).isoformat()
    + frac + zone,
    st.sampled_from([0, 1, 59, 60, 425, 426, 1521]), st.integers(0, 200),
    st.sampled_from(["", ".5", ".000000001", ".123456789"]),
    st.sampled_from(["Z", "+01:00", "-0530", "+00"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_TIMES, _TIMES), min_size=1, max_size=40))
def test_times_of_shared_and_changing_minutes_as_arrow_reads_them(tmp_path_factory, times):
    # each row's date, hour and minute are read once for the rows after it that share them
    # (per column): rows in any order, two time columns, zones that differ within a minute
    path = tmp_path_factory.mktemp("t") / "t.csv"
    write(path, "ts,symbol,recv,price\n" + "".join(
        f"{a},A,{b},1.5\n" for a, b in times))
    assert_same(path)


@pytest.mark.parametrize("second", ["2024-01-02T14:30:60Z", "2024-01-02T14:30:5Z",
                                    "2024-01-02T14:30-01Z", "2024-01-02T14:30:01.Z"])
def test_a_bad_time_after_a_good_one_of_its_minute_is_declined(tmp_path, second):
    text = HEADER + "2024-01-02T14:30:00Z,A,1.5,100,1\n" + f"{second},A,1.5,100,1\n"
    assert read_plain_csv(write(tmp_path / "t.csv", text), ",", None, "symbol") is None
    month = HEADER + "2024-02-28T14:30:00Z,A,1.5,100,1\n" + "2024-02-30T14:30:00Z,A,1.5,100,1\n" * 2
    assert read_plain_csv(write(tmp_path / "u.csv", month), ",", None, "symbol") is None


_DECIMALS = st.builds(
    lambda sign, digits, point, exp: f"{sign}{digits[:point]}.{digits[point:]}{exp}",
    st.sampled_from(["", "-"]), st.text("0123456789", min_size=1, max_size=17),
    st.integers(0, 17), st.sampled_from(["", "e5", "e-12", "E+3", "e-30", "e25"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(_DECIMALS, min_size=1, max_size=20))
def test_decimals_are_correctly_rounded_or_declined(tmp_path_factory, prices):
    path = tmp_path_factory.mktemp("d") / "t.csv"
    write(path, "ts,symbol,price\n" + "".join(
        f"2024-01-02T14:30:00Z,A,{p}\n" for p in prices))
    got = read_plain_csv(path, ",", None, "symbol")
    if got is not None:  # taken: exactly Arrow's (correctly rounded) values
        ref = arrow(path)
        assert got["price"].to_list() == ref["price"].to_list()
        assert [math.copysign(1, v) for v in got["price"]] == \
               [math.copysign(1, v) for v in ref["price"]]
    # taken whenever the fast path is exact: at most 15 digits, a power of ten within 10**±22
    exact = [Decimal(p).is_zero() or (len(Decimal(p).as_tuple().digits) <= 15
                                      and -22 <= Decimal(p).as_tuple().exponent <= 22)
             for p in prices]
    assert got is not None or not all(exact)


def test_large_files_read_in_pieces_as_before(tmp_path, market, monkeypatch):
    path = tmp_path / "t.csv"
    market.ticks.write_csv(path)
    calls = []
    monkeypatch.setattr(importer, "read_plain_csv",
                        lambda *a: calls.append(a) or read_plain_csv(*a))
    pieces = [p.frame for p in importer.read_market_pieces(path, piece_bytes=100_000)]
    assert len(pieces) > 3 and all(isinstance(c[0], bytes) for c in calls)
    assert len(calls) == len(pieces) and pl.concat(pieces).equals(market.ticks)


# -- through the importer: the same frames, and the same errors, as Arrow's read ---------

def _both(path, options=None):
    """read_market_file's outcome with cift's parser and with Arrow's alone."""
    outcomes = []
    for plain in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            if not plain:
                mp.setattr(importer, "read_plain_csv", lambda *a, **k: None)
            try:
                outcomes.append(read_market_file(path, options))
            except DataError as exc:
                outcomes.append(str(exc))
    return outcomes


def test_importer_reads_the_synthetic_market_as_before(tmp_path, market):
    for name in ("ticks", "quotes"):
        path = tmp_path / f"{name}.csv"
        getattr(market, name).write_csv(path)
        (table, fast), (table2, slow) = _both(path)
        assert table == table2 == name and fast.equals(slow)
        assert fast.equals(getattr(market, name))


@pytest.mark.parametrize("text,options", [
    ("time,sym,px,qty\n2024-01-02 09:30:00.25,AAPL,187.5,100\n2024-01-02 09:30:01,MSFT,370,5\n",
     ImportOptions(columns={"ts": "time", "symbol": "sym", "price": "px", "size": "qty"},
                   tz="America/New_York")),
    ("ts,symbol,price,size\n1704205800123,A,1.5,3\n1704205800124,A,1.5,3\n",
     ImportOptions(ts_unit="ms")),
    ("ts,symbol,price,size,side\n2024-01-02T14:30:00Z,A,-1.5,3,1\n", None),  # a bad price
    ("ts,symbol,price,size,side\n2024-01-02T14:30:00Z,A,1.5,-3,1\n", None),  # a bad size
    ("ts,symbol,price,size,side\n2024-01-02T14:30:00Z,A,1.5,3,2\n", None),  # a bad side
    ("ts,symbol,price,size,side\n2024-01-02T14:30:00Z,A,nan,3,1\n", None),  # declined
    ("ts,symbol,bid_px,ask_px,bid_sz,ask_sz\n2024-01-02T14:30:00Z,A,1.5,1.4,3,3\n", None),
    ("ts_event,side,price,size,symbol\n2024-01-02T14:30:00Z,A,187.5,100,AAPL\n"
     "2024-01-02T14:30:01Z,B,187.5,3,AAPL\n2024-01-02T14:30:02Z,N,187.5,3,AAPL\n",
     ImportOptions(columns={"ts": "ts_event"})),
    ("ts,symbol,price,size,side\n2024-01-02T14:30:00Z,A,1.5,3,sell\n"
     "2024-01-02T14:30:01Z,A,1.5,3,hold\n", None),  # a side of no meaning
    ("ts,symbol,price,size,is_buyer_maker\n2024-01-02T14:30:00Z,A,1.5,3,True\n",
     ImportOptions(buyer_maker=True)),
])
def test_importer_outcomes_match_arrow(tmp_path, text, options):
    fast, slow = _both(write(tmp_path / "t.csv", text), options)
    if isinstance(fast, str):
        assert fast == slow
    else:
        assert fast[0] == slow[0] and fast[1].equals(slow[1])
