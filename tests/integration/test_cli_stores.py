"""`cift db` and `cift copy` end to end in a subprocess, against the suite's PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import polars as pl
import pytest

import cift


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "CIFT_HOME": str(tmp_path / "home")}
    env.pop("CIFT_STORE", None)
    env.pop("CIFT_REDIS_URL", None)

    def _run(*args, ok=True):
        proc = subprocess.run([sys.executable, "-m", "cift.cli", *map(str, args)],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=300, check=False)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return _run


def test_db_init_then_migrate(run, pg_url):
    assert "applied migration(s) [1]" in run("db", "init", pg_url).stdout
    assert "already at version 1" in run("db", "migrate", pg_url).stdout


def test_db_errors_are_one_line(run, tmp_path, postgres_server):
    bad = run("db", "init", str(tmp_path / "lake"), ok=False)
    assert bad.returncode == 2 and "no schema" in bad.stderr
    down = run("db", "init", "postgresql://u:topsecret@127.0.0.1:1/x", ok=False)
    assert down.returncode == 2 and "127.0.0.1:1" in down.stderr
    assert "topsecret" not in down.stderr and len(down.stderr.strip().splitlines()) == 1


def test_copy_lake_to_postgres_and_back(run, tmp_path, pg_url, market):
    lake = tmp_path / "home" / "lake"
    with cift.connect(str(lake)) as store:
        store.write_ticks(market.ticks)
        store.write_quotes(market.quotes)
    out = run("copy", "--to", pg_url).stdout
    assert f"copied {market.ticks.height + market.quotes.height:,} rows" in out
    again = run("copy", "--to", pg_url).stdout  # idempotent: whole days reach the target
    assert "copied 0 rows" in again and "already there" in again
    with cift.connect(pg_url) as pg:
        assert pg.ticks().equals(market.ticks) and pg.quotes().equals(market.quotes)
    back = tmp_path / "back"
    run("copy", "--from", pg_url, "--to", str(back), "--symbols", "ACME,BOLT",
        "--start", "2024-01-03")
    with cift.connect(str(back)) as store:
        want = market.ticks.filter(pl.col("symbol").is_in(["ACME", "BOLT"]),
                                   pl.col("ts") >= pl.datetime(2024, 1, 3, time_zone="UTC"))
        assert store.ticks().equals(want)


def test_copy_in_small_batches_is_the_same_copy(tmp_path, market):
    from cift.store.copy import copy_store

    with cift.connect(str(tmp_path / "a")) as a, cift.connect(str(tmp_path / "b")) as b:
        a.write_ticks(market.ticks)
        result = copy_store(a, b, batch_rows=100)  # one day per batch
        assert result.rows == market.ticks.height
        assert b.ticks().equals(market.ticks)


def test_copy_refuses_the_same_store(run, tmp_path):
    bad = run("copy", "--from", str(tmp_path / "x"), "--to", str(tmp_path / "x"), ok=False)
    assert bad.returncode == 2 and "same store" in bad.stderr


def test_ingest_into_postgres(run, tmp_path, pg_url, market):
    acme = market.ticks.filter(pl.col("symbol") == "ACME")
    acme.drop("symbol").rename({"ts": "time"}).write_csv(tmp_path / "acme.csv")
    out = run("ingest", "acme.csv", "--symbol", "ACME", "--map", "ts=time",
              "--store", pg_url).stdout
    assert f"ingested {acme.height:,} rows" in out
    assert "already there" in run("ingest", "acme.csv", "--symbol", "ACME", "--map",
                                  "ts=time", "--store", pg_url).stdout
    with cift.connect(pg_url) as pg:
        assert pg.ticks().equals(acme)
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,price,size\n2024-01-02T15:00:00Z,1.0,-5\n")
    proc = run("ingest", str(bad), "--symbol", "X", "--store", pg_url, ok=False)
    assert proc.returncode == 2 and "size" in proc.stderr
    with cift.connect(pg_url) as pg:
        assert pg.symbols() == ["ACME"]  # the rejected file left nothing


def test_copy_batches_hold_whole_days_small_symbols_together():
    from cift.store.base import TimeRange
    from cift.store.copy import _batches

    day = 86_400 * 10**9

    def entry(table, symbol, rows, days=1):
        return {"table": table, "symbol": symbol, "first_ts": 0, "last_ts": days * day - 1,
                "rows": rows}

    todo = [entry("ticks", "A", 10), entry("ticks", "B", 10), entry("ticks", "C", 60, days=3),
            entry("ticks", "D", 20), entry("quotes", "A", 5), entry("quotes", "B", 5)]
    got = list(_batches(todo, TimeRange(), 25))
    assert got == [("ticks", ["A", "B"], None, None),  # 10 + 10: a third would pass 25
                   ("ticks", ["C"], 0, day), ("ticks", ["C"], day, 2 * day),
                   ("ticks", ["C"], 2 * day, 3 * day),  # 20 rows a day: a day per read
                   ("ticks", ["D"], None, None), ("quotes", ["A", "B"], None, None)]
    bounded = TimeRange.of(dt.datetime(1970, 1, 1, 12, tzinfo=dt.UTC), None)
    assert list(_batches(todo[:2], bounded, 25)) == [("ticks", ["A", "B"], day // 2, None)]
