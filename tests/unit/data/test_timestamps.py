import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cift.data.schema import TS
from cift.data.timestamps import day_month_order, parse_duration, parse_ts_column, to_utc_ns
from cift.errors import DataError, ParameterError

NS = 1_704_205_800_123_456_789  # 2024-01-02 14:30:00.123456789 UTC


@pytest.mark.parametrize("value,expected", [
    (None, None),
    (dt.date(2024, 1, 2), 1_704_153_600 * 10**9),
    ("2024-01-02", 1_704_153_600 * 10**9),
    ("2024-01-02T14:30:00", 1_704_205_800 * 10**9),
    ("2024-01-02T09:30:00-05:00", 1_704_205_800 * 10**9),
    ("2024-01-02T14:30:00Z", 1_704_205_800 * 10**9),
    (dt.datetime(2024, 1, 2, 14, 30), 1_704_205_800 * 10**9),
    (dt.datetime(2024, 1, 2, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
     1_704_205_800 * 10**9),
    (np.datetime64(NS, "ns"), NS),
    (NS, NS),
    (dt.date(1969, 12, 31), -86_400 * 10**9),
    # nanoseconds kept (a datetime holds microseconds: they were cut)
    ("2024-01-02T14:30:00.123456789Z", NS),
    ("2024-01-02 09:30:00.123456789-05:00", NS),
    ("2024-01-02T14:30:00.1234567", NS - 89),
    ("2024-01-02T14:30:00.1234567891", NS),  # past the nanosecond: dropped
    (pd.Timestamp(NS, tz="UTC"), NS),
    (pd.Timestamp(NS, tz="UTC").tz_convert("America/New_York"), NS),
    (pd.Timestamp(NS, tz="UTC").tz_localize(None), NS),
])
def test_to_utc_ns(value, expected):
    assert to_utc_ns(value) == expected


@pytest.mark.parametrize("bad", ["yesterday", 1.5, True, [2024]])
def test_to_utc_ns_rejects(bad):
    with pytest.raises(ParameterError, match="start"):
        to_utc_ns(bad, name="start")


@pytest.mark.parametrize("unit,scale", [("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)])
def test_epoch_units_given_and_inferred(unit, scale):
    raw = pl.Series("ts", [1_704_205_800 * 10**9 // scale, 1_704_205_801 * 10**9 // scale])
    for unit_option in (unit, None):
        out = parse_ts_column(raw, unit=unit_option)
        assert out.dtype == TS
        assert out.to_physical().to_list() == [1_704_205_800 * 10**9, 1_704_205_801 * 10**9]


def test_float_epoch_seconds_keep_fraction():
    out = parse_ts_column(pl.Series("ts", [1_704_205_800.25]))
    assert out.to_physical()[0] == 1_704_205_800_250_000_000


def test_iso_strings_with_and_without_offset():
    out = parse_ts_column(pl.Series("ts", ["2024-01-02T14:30:00.123456789Z",
                                           "2024-01-02T14:30:01.000000000Z"]))
    assert out.to_physical().to_list() == [1_704_205_800_123_456_789, 1_704_205_801 * 10**9]
    naive = parse_ts_column(pl.Series("ts", ["2024-01-02 09:30:00"]), tz="America/New_York")
    assert naive.to_physical()[0] == 1_704_205_800 * 10**9


def test_naive_datetimes_take_the_time_zone():
    s = pl.Series("ts", [dt.datetime(2024, 7, 1, 9, 30)])
    assert parse_ts_column(s, tz="America/New_York").to_physical()[0] == \
        to_utc_ns("2024-07-01T13:30:00")
    assert parse_ts_column(s).to_physical()[0] == to_utc_ns("2024-07-01T09:30:00")


NY = "America/New_York"


def _ny(*fields, fold=0) -> int:
    """A New York wall-clock time as UTC ns, by the standard library (``fold=1``: the
    second of a time that happened twice)."""
    from zoneinfo import ZoneInfo

    return to_utc_ns(dt.datetime(*fields, tzinfo=ZoneInfo(NY), fold=fold))


def test_the_hour_that_happens_twice_is_placed_by_the_rows_order():
    # 2024-11-03: New York's clocks went from 01:59:59 EDT back to 01:00 EST; two symbols,
    # each in time order (a file sorted by symbol), each crossing the change
    times = ["00:59:59", "01:30:00", "01:59:00", "01:10:00", "02:00:00"]
    col = pl.Series("ts", [f"2024-11-03 {t}" for t in times] * 2)
    want = [_ny(2024, 11, 3, 0, 59, 59), _ny(2024, 11, 3, 1, 30), _ny(2024, 11, 3, 1, 59),
            _ny(2024, 11, 3, 1, 10, fold=1), _ny(2024, 11, 3, 2)] * 2
    assert parse_ts_column(col, tz=NY).to_physical().to_list() == want
    assert want[3] - want[1] == 40 * 60 * 10**9  # 01:30 EDT to 01:10 EST: 40 minutes


def test_times_the_clocks_skipped_or_that_cannot_be_placed_are_named():
    skipped = pl.Series("ts", ["2024-03-10 01:59:59", "2024-03-10 02:30:00"])
    with pytest.raises(DataError, match="does not exist in America/New_York") as e:
        parse_ts_column(skipped, tz=NY, source="f.csv")
    assert (e.value.row, e.value.field) == (2, "ts")
    twice = pl.Series("ts", ["2024-11-03 00:30:00", "2024-11-03 01:30:00",
                             "2024-11-03 01:40:00"])  # no step back: either hour fits
    with pytest.raises(DataError, match="happened twice") as e:
        parse_ts_column(twice, tz=NY)
    assert e.value.row == 2
    with pytest.raises(ParameterError, match="tz: 'Mars/Olympus' is not a time zone"):
        parse_ts_column(skipped, tz="Mars/Olympus")


def test_digit_strings_are_epochs():
    out = parse_ts_column(pl.Series("ts", ["1704205800000", "1704205801000"]))
    assert out.to_physical()[1] == 1_704_205_801 * 10**9


def test_unparsable_timestamp_names_row():
    with pytest.raises(DataError, match=r"f.csv, row 3, field 'ts'.*'noon'") as e:
        parse_ts_column(pl.Series("ts", ["2024-01-02", "2024-01-03", "noon"]), source="f.csv")
    assert (e.value.source, e.value.row, e.value.field) == ("f.csv", 3, "ts")


@pytest.mark.parametrize("bad", ["2024-01-02T25:00:00", "2024-01-02T09:61:00",
                                 "2024-01-02T-1:30:00", "2024-01-02T09:30:99"])
def test_fields_out_of_range_are_refused_not_carried(bad):
    # uniform ISO text is read field by field: hour 25 was the next day's 01:00
    with pytest.raises(DataError, match=f"row 2.*'{re.escape(bad)}'"):
        parse_ts_column(pl.Series("ts", ["2024-01-02T09:30:00", bad]))
    with pytest.raises(DataError, match="row 1.*'2024-01-02T09:30:00.000\\+24:00'"):
        parse_ts_column(pl.Series("ts", ["2024-01-02T09:30:00.000+24:00"]))


def test_compact_dates_and_comma_fractions():
    out = parse_ts_column(pl.Series("ts", ["20240102 09:30:00", "20240102 09:30:01.123456789",
                                           "20240103T00:00:00.5"]), tz="UTC")
    second = to_utc_ns("2024-01-02T09:30:00")
    assert out.to_physical().to_list() == [second, second + 1_123_456_789,
                                           to_utc_ns("2024-01-03T00:00:00.5")]
    commas = parse_ts_column(pl.Series("ts", ["2024-01-02 09:30:00,5", "2024-01-02 09:30:01,25"]))
    assert commas.to_physical().to_list() == [second + 500_000_000, second + 1_250_000_000]
    with pytest.raises(DataError, match=r"row 2.*'20240102 25:00:00'"):
        parse_ts_column(pl.Series("ts", ["20240102 09:30:00", "20240102 25:00:00"]))
    # BigQuery's and Spark's exports name the zone in a word
    worded = parse_ts_column(pl.Series("ts", ["2024-01-02 14:30:00.25 UTC",
                                              "2024-01-02 14:30:01 GMT", "2024-01-02 14:30:02utc"]))
    assert worded.to_physical().to_list() == [to_utc_ns("2024-01-02T14:30:00.25Z"),
                                              to_utc_ns("2024-01-02T14:30:01Z"),
                                              to_utc_ns("2024-01-02T14:30:02Z")]
    # HistData's ticks: the milliseconds run on from the seconds, EST all year
    histdata = parse_ts_column(pl.Series("ts", ["20240102 043000123", "20240102 043001000"]),
                               tz="Etc/GMT+5")
    assert histdata.to_physical().to_list() == [second + 123_000_000, second + 1_000_000_000]
    with pytest.raises(DataError, match=r"row 2.*'20240102 253000000'"):
        parse_ts_column(pl.Series("ts", ["20240102 043000123", "20240102 253000000"]))


@pytest.mark.parametrize("values,row", [(["Jan 2 2024 9:30", "Jan 2 2024 9:31"], 1),
                                        (["2024-01-02T09:30", "2024-01-02 9h31"], 2)])
def test_a_layout_no_parser_knows_is_a_clear_error(values, row):
    # (a layout Polars could not infer from the first values raised its ComputeError)
    with pytest.raises(DataError, match=r"cannot parse timestamp .*give it: e.g. ts_format") \
            as e:
        parse_ts_column(pl.Series("ts", values), source="f.csv")
    assert (e.value.row, e.value.field) == (row, "ts")


@pytest.mark.parametrize("values,iso", [
    # a second field over 12 proves month/day (US exports) ...
    (["01/02/2024 09:30:00", "12/13/2024 16:00:00.25"],
     ["2024-01-02T09:30:00", "2024-12-13T16:00:00.25"]),
    # ... a first one over 12 proves day/month, with dots too (European exports)
    (["1.2.2024 09:30", "13.02.2024 10:00"], ["2024-02-01T09:30:00", "2024-02-13T10:00:00"]),
    (["02/01/2024", "31/01/2024"], ["2024-01-02", "2024-01-31"]),
])
def test_day_month_order_proven_by_the_values(values, iso):
    out = parse_ts_column(pl.Series("ts", values), tz="UTC")
    assert out.to_physical().to_list() == [to_utc_ns(v) for v in iso]


def test_ambiguous_or_mixed_day_month_dates_are_refused():
    with pytest.raises(DataError, match=r"row 1.*could be day/month or month/day; say which: "
                                        r"day_first=True or False .*ts_format "
                                        r"'%d/%m/%Y %H:%M:%S'"):
        parse_ts_column(pl.Series("ts", ["01/02/2024 09:30:00", "03/04/2024 09:30:00"]))
    # the example follows the file's way of writing dates
    with pytest.raises(DataError, match=r"ts_format '%d\.%m\.%Y'"):
        parse_ts_column(pl.Series("ts", ["01.02.2024", "03.04.2024"]))
    with pytest.raises(DataError, match=r"row 3.*'12/13/2024'.*mix day/month and month/day"):
        parse_ts_column(pl.Series("ts", ["13/01/2024", "14/01/2024", "12/13/2024"]))


def test_day_month_order_as_told():
    values = pl.Series("ts", ["01/02/2024 09:30:00", "03/04/2024 16:00:00"])
    day_first = parse_ts_column(values, day_first=True).to_physical().to_list()
    month_first = parse_ts_column(values, day_first=False).to_physical().to_list()
    assert day_first == [to_utc_ns("2024-02-01T09:30:00"), to_utc_ns("2024-04-03T16:00:00")]
    assert month_first == [to_utc_ns("2024-01-02T09:30:00"), to_utc_ns("2024-03-04T16:00:00")]
    # values that contradict the order told are refused, naming the row
    with pytest.raises(DataError, match=r"row 2.*'01/13/2024' has a month over 12 read "
                                        r"day/month"):
        parse_ts_column(pl.Series("ts", ["01/02/2024", "01/13/2024"]), day_first=True)
    with pytest.raises(DataError, match=r"row 1.*'13/01/2024' has a month over 12 read "
                                        r"month/day"):
        parse_ts_column(pl.Series("ts", ["13/01/2024"]), day_first=False)
    assert [day_month_order(pl.Series(v)) for v in (
        ["13/01/2024"], ["01/13/2024"], ["01/02/2024"], ["13/01/2024", "01/13/2024"],
        ["2024-01-13"], [1704205800])] == [True, False, None, None, None, None]


def test_a_bad_row_among_day_month_dates_is_named():
    with pytest.raises(DataError, match=r"row 2.*'noon'"):
        parse_ts_column(pl.Series("ts", ["13/01/2024", "noon"]))


def test_explicit_format_reads_text_as_told_and_names_a_mismatch():
    out = parse_ts_column(pl.Series("ts", ["01/02/2024 09:30:00"]), format="%m/%d/%Y %H:%M:%S",
                          tz="America/New_York")
    assert out.to_physical()[0] == to_utc_ns("2024-01-02T14:30:00")
    day_first = parse_ts_column(pl.Series("ts", ["01/02/2024"]), format="%d/%m/%Y")
    assert day_first.to_physical()[0] == to_utc_ns("2024-02-01")
    with pytest.raises(DataError, match=r"row 2.*does not match the format '%d/%m/%Y'"):
        parse_ts_column(pl.Series("ts", ["01/02/2024", "2024-02-03"]), format="%d/%m/%Y")


def test_missing_and_nonfinite_timestamps():
    with pytest.raises(DataError, match="row 2.*missing timestamp"):
        parse_ts_column(pl.Series("ts", [1, None]))
    with pytest.raises(DataError, match="row 1.*not finite"):
        parse_ts_column(pl.Series("ts", [float("nan"), 1.0]))


def test_epoch_overflow():
    with pytest.raises(DataError, match="overflows") as e:
        parse_ts_column(pl.Series("ts", [10**19]), unit="s")
    assert "(in" not in str(e.value)  # (no unit holds it)
    # microseconds read as milliseconds: the unit that fits is named, with its time
    # (1704205800 s after the epoch is 2024-01-02T14:30:00Z)
    with pytest.raises(DataError, match=r"1\.70421e\+15 overflows nanoseconds with unit ms \(in "
                                        r"us it is 2024-01-02T14:30:00Z: ts_unit 'us'"):
        parse_ts_column(pl.Series("ts", [1704205800_000000]), unit="ms", source="f.csv")


def test_a_unit_too_large_for_the_values_warns():
    # seconds read as milliseconds end in January 1970: stored, but said
    with pytest.warns(UserWarning, match=r"f.csv, field 'ts': epoch values read in ms are "
                                         r"times in 1970; in s they would be in 2024"):
        out = parse_ts_column(pl.Series("ts", [1704205800]), unit="ms", source="f.csv")
    assert out.dt.epoch("ms").to_list() == [1704205800]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # small counts in a unit, and the right unit: quiet
        parse_ts_column(pl.Series("ts", [1, 2, 99_999_999]), unit="ns")
        parse_ts_column(pl.Series("ts", [1704205800_123]), unit="ms")


@pytest.mark.parametrize("text,ns", [
    ("1ns", 1), ("250us", 250_000), ("100ms", 10**8), ("1s", 10**9), ("5m", 300 * 10**9),
    ("15min", 900 * 10**9), ("1h", 3600 * 10**9), ("1d", 86_400 * 10**9),
    ("1h30m", 5400 * 10**9), (" 2S ", 2 * 10**9),
])
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["", "5", "m", "1mo", "1w", "-1s", "0s", "1.5s", 60])
def test_parse_duration_rejects(bad):
    with pytest.raises(ParameterError, match="interval"):
        parse_duration(bad)


@pytest.mark.parametrize("text", ["1M", "1MS", "5M30S", "1Ms"])
def test_an_uppercase_m_is_refused_as_ambiguous(text):
    # pandas reads "1M" as a month (end) and "1MS" as a month start; a minute or a
    # millisecond silently would misread a pandas user's bars
    with pytest.raises(ParameterError, match="ambiguous: minutes are 'm' or 'min'"):
        parse_duration(text)
    assert parse_duration("1Min") == parse_duration("1MIN") == 60 * 10**9


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LAYOUTS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%fZ",
           "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S.%f+05:30"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1900, 1, 1),
                             max_value=dt.datetime(2200, 1, 1)), min_size=1, max_size=30),
       st.sampled_from(LAYOUTS), st.sampled_from([dt.timezone.utc,
                                                  dt.timezone(dt.timedelta(hours=-5))]))
def test_uniform_iso_fast_path_agrees_with_python(values, layout, tz):
    texts = [v.replace(tzinfo=tz).strftime(layout) for v in values]
    got = parse_ts_column(pl.Series("ts", texts)).to_physical().to_list()
    want = [to_utc_ns(t.replace("Z", "+00:00")) for t in texts]
    assert got == want
