"""The `cift` command end to end, in a subprocess, against a temporary CIFT_HOME."""

import os
import subprocess
import sys

import polars as pl
import pytest

import cift
from cift.data.schema import BARS


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "CIFT_HOME": str(tmp_path / "home")}
    env.pop("CIFT_STORE", None)

    def _run(*args, ok=True):
        proc = subprocess.run([sys.executable, "-m", "cift.cli", *map(str, args)],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=300)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return _run


def test_version_and_help(run):
    assert run("version").stdout.startswith("cift ")
    helptext = run("--help").stdout
    for command in ("demo", "ingest", "catalog", "bars", "version", "examples:"):
        assert command in helptext
    assert "--map" in run("ingest", "--help").stdout


def test_python_dash_m_cift_is_the_command(tmp_path):
    env = {**os.environ, "CIFT_HOME": str(tmp_path / "home")}
    env.pop("CIFT_STORE", None)
    proc = subprocess.run([sys.executable, "-m", "cift", "ingest", "no-such.csv"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith("cift: error:") and "no-such.csv" in proc.stderr


def test_ingest_catalog_bars(run, tmp_path, market):
    market.ticks.rename({"ts": "time"}).write_csv(tmp_path / "t.csv")
    market.quotes.write_parquet(tmp_path / "q.parquet")
    out = run("ingest", "t.csv", "q.parquet", "--map", "ts=time").stdout
    assert f"ingested {market.ticks.height + market.quotes.height:,} rows" in out
    out = run("ingest", "q.parquet").stdout
    assert "0 rows" in out and f"{market.quotes.height:,} already there" in out
    catalog = run("catalog").stdout
    assert "ACME" in catalog and "quotes" in catalog
    out = run("bars", "ACME,BOLT", "--interval", "5m", "--start", "2024-01-02",
              "--end", "2024-01-03", "--out", "bars.parquet").stdout
    bars = pl.read_parquet(tmp_path / "bars.parquet")
    assert f"wrote {bars.height:,} bars" in out
    assert bars.schema == pl.Schema(BARS) and set(bars["symbol"]) == {"ACME", "BOLT"}
    assert not run("bars", "ACME,BOLT", "--interval", "5m", "--out", "b.csv").stderr
    run("bars", "all", "--out", "bars.csv")
    assert pl.read_csv(tmp_path / "bars.csv").height > bars.height
    # symbols without bars are named, not left out unsaid
    missing = run("bars", "ACME,NOPE", "--interval", "1h", "--out", "some.csv")
    assert "no ticks of NOPE in lake://" in missing.stderr
    assert set(pl.read_csv(tmp_path / "some.csv")["symbol"]) == {"ACME"}
    late = run("bars", "ACME", "--start", "2030-01-01")
    assert "no ticks of ACME in lake://" in late.stderr and "in that range" in late.stderr
    assert "merged away" in run("compact").stdout


@pytest.mark.parametrize("args,message", [
    (["ingest", "missing.csv"], "no such file"),
    (["ingest", "bad.csv"], "row 2, field 'price'"),
    (["ingest", "bad.csv", "--map", "ts"], "NAME=COLUMN"),
    (["bars", "ACME", "--interval", "1 fortnight"], "is not a duration"),
    (["bars", "ACME", "--start", "someday"], "not an ISO date"),
    (["bars", "ACME", "--out", "bars.xlsx"], "must end in .csv or .parquet"),
    (["bars", "ACME", "--out", "no/such/dir/bars.csv"], "the directory no/such/dir does not"),
    (["ingest", "bad.csv", "--tz", "Mars/Olympus"], "'Mars/Olympus' is not a time zone"),
    (["catalog", "--store", "nosuch://x"], "no store for URL scheme"),
    (["ingest", "bad.csv", "--separator", "ab"], "separator: expected one character"),
    (["ingest", "ragged.csv"], "as CSV separated by ','"),
    (["ingest", "us.csv", "--symbol", "IBM"], "could be day/month or month/day"),
])
def test_bad_input_is_one_line_and_nonzero(run, tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("ts,symbol,price,size,side\n1,A,1.0,1,1\n2,A,oops,1,1\n")
    (tmp_path / "ragged.csv").write_text("ts,symbol,price,size\n1,A,1.5,1,1\n")
    (tmp_path / "us.csv").write_text("ts,price,size\n01/02/2024 09:30:00,160.5,10\n")
    proc = run(*args, ok=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cift: error:") and message in lines[0]


def test_ingest_told_the_day_month_order(run, tmp_path):
    (tmp_path / "eu.csv").write_text("ts,price,size\n01/02/2024 09:30:00,160.5,10\n")
    run("ingest", "eu.csv", "--symbol", "IBM", "--day-first")
    run("bars", "IBM", "--interval", "1d", "--out", "ibm.csv")
    assert pl.read_csv(tmp_path / "ibm.csv")["ts"][0].startswith("2024-02-01")
    proc = run("ingest", "eu.csv", "--day-first", "--month-first", ok=False)
    assert proc.returncode == 2 and "not allowed with" in proc.stderr


def test_ingest_with_a_timestamp_format(run, tmp_path):
    (tmp_path / "us.csv").write_text("ts,price,size\n01/02/2024 09:30:00,160.5,10\n")
    run("ingest", "us.csv", "--symbol", "IBM", "--tz", "America/New_York",
        "--ts-format", "%m/%d/%Y %H:%M:%S")
    out = run("bars", "IBM", "--interval", "1d", "--out", "ibm.csv").stdout
    bars = pl.read_csv(tmp_path / "ibm.csv", try_parse_dates=True)
    assert bars["ts"].cast(pl.String)[0].startswith("2024-01-02"), out
    assert bars["close"][0] == 160.5


def test_ingest_a_headerless_file(run, tmp_path):
    (tmp_path / "btc.csv").write_text("7,64000.5,0.25,1704205800123,true\n"
                                      "8,64001.0,0.5,1704205801456,false\n")
    out = run("ingest", "btc.csv", "--no-header", "--symbol", "BTCUSDT",
              "--map", "price=column_2,size=column_3,ts=column_4").stdout
    assert "ingested 2 rows" in out
    run("bars", "BTCUSDT", "--interval", "1s", "--out", "b.csv")
    bars = pl.read_csv(tmp_path / "b.csv")
    assert bars["close"].to_list() == [64000.5, 64001.0]
    assert bars["ts"][0].startswith("2024-01-02T14:30:00")
    # its fifth column is Binance's is_buyer_maker: true is a sell
    proc = run("ingest", "btc.csv", "--no-header", "--symbol", "BTCUSDT", "--map",
               "price=column_2,size=column_3,ts=column_4,side=column_5", ok=False)
    assert proc.returncode == 2 and "--buyer-maker" in proc.stderr
    run("ingest", "btc.csv", "--no-header", "--symbol", "ETHUSDT", "--buyer-maker", "--map",
        "price=column_2,size=column_3,ts=column_4,side=column_5")
    ticks = cift.connect(f"lake://{tmp_path / 'home' / 'lake'}").ticks("ETHUSDT")
    assert ticks["side"].to_list() == [-1, 1]


def test_warnings_are_one_line(run, tmp_path):
    (tmp_path / "s.csv").write_text("ts,price,size\n1704205800,1.0,1\n")  # seconds
    err = run("ingest", "s.csv", "--symbol", "X", "--ts-unit", "ms").stderr
    assert err.startswith("cift: warning: s.csv, field 'ts': epoch values read in ms are "
                          "times in 1970")
    assert err.count("\n") == 1 and "UserWarning" not in err


def test_ingest_a_european_export(run, tmp_path):
    (tmp_path / "sap.csv").write_text("Zeit;Kurs;Menge\n02.01.2024 09:00:01;185,30;1,5\n")
    run("ingest", "sap.csv", "--symbol", "SAP", "--tz", "Europe/Berlin", "--decimal-comma",
        "--map", "ts=Zeit,price=Kurs,size=Menge", "--ts-format", "%d.%m.%Y %H:%M:%S")
    run("bars", "SAP", "--interval", "1m", "--out", "sap_bars.csv")
    bars = pl.read_csv(tmp_path / "sap_bars.csv")
    assert bars["ts"][0].startswith("2024-01-02T08:00:00") and bars["close"][0] == 185.3
    assert bars["volume"][0] == 1.5


def test_ingest_date_and_time_columns(run, tmp_path):
    (tmp_path / "ibm.txt").write_text("Date;Time;Last;Qty\n20240103;093000;161.5;10\n")
    run("ingest", "ibm.txt", "--symbol", "IBM", "--tz", "America/New_York",
        "--map", "ts=Date+Time,price=Last,size=Qty", "--ts-format", "%Y%m%d %H%M%S")
    run("bars", "IBM", "--interval", "1m", "--out", "ibm.csv")
    bars = pl.read_csv(tmp_path / "ibm.csv")
    assert bars["ts"][0].startswith("2024-01-03T14:30:00") and bars["close"][0] == 161.5


def test_rejected_file_leaves_lake_unchanged(run, tmp_path, market):
    market.ticks.write_parquet(tmp_path / "good.parquet")
    run("ingest", "good.parquet")
    lake = tmp_path / "home" / "lake"
    before = sorted((p, p.stat().st_size) for p in lake.rglob("*") if p.name != ".lock")
    market.ticks.with_columns(pl.col("price").cast(pl.String)).with_columns(
        price=pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("nan?")).otherwise("price")
    ).write_csv(tmp_path / "bad.csv")
    proc = run("ingest", "bad.csv", ok=False)
    assert proc.returncode == 2 and "row 8, field 'price'" in proc.stderr
    assert sorted((p, p.stat().st_size) for p in lake.rglob("*") if p.name != ".lock") == before


def test_kernel_install(run, tmp_path):
    out = run("kernel", "install", "--prefix", tmp_path / "jp").stdout
    assert "installed" in out
    assert (tmp_path / "jp/share/jupyter/kernels/cift/kernel.json").is_file()


def test_no_command_prints_help(run):
    proc = run(ok=False)
    assert proc.returncode == 2 and "usage: cift" in proc.stdout
