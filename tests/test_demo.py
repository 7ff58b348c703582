"""`cift demo` end to end in a subprocess, on a small market."""

import os
import subprocess
import sys

import polars as pl
import pytest

import cift

pytestmark = pytest.mark.slow


def test_demo_builds_lake_runs_notebook_and_is_idempotent(tmp_path):
    env = {**os.environ, "CIFT_HOME": str(tmp_path)}
    args = [sys.executable, "-m", "cift.cli", "demo", "--symbols", "4", "--sessions", "2",
            "--ticks-per-session", "2000"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "4 symbols x 2 sessions" in proc.stdout and "report" in proc.stdout
    lake = cift.connect(f"lake://{tmp_path}/lake")
    catalog = lake.catalog()
    assert catalog.height == 8 and set(catalog["table"]) == {"ticks", "quotes"}
    html = next((tmp_path / "runs").rglob("01_data_tour.html"))
    assert html.stat().st_size > 100_000  # plotly.js inline
    rows = catalog["rows"].sum()
    proc = subprocess.run([*args, "--no-notebook"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0 and "already there, skipped" in proc.stdout
    assert lake.catalog()["rows"].sum() == rows
    assert lake.ticks().filter(pl.col("symbol") == "ACME").height > 0
