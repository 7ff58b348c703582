"""A reader in one process while another process writes, merges and compacts the same
partitions."""

import multiprocessing as mp

import numpy as np
import polars as pl

from cift.data.schema import TS
from cift.store.base import TimeRange
from cift.store.lake import Lake

BATCH = 2_000
BATCHES = 40  # a write merges 16 small parts in a row: twice here, around a compact()
DAY0 = 1_704_153_600 * 10**9


def batch(i: int) -> pl.DataFrame:
    """Batch i: BATCH trades of one symbol-day, price == i, so a read shows which batches."""
    ts = DAY0 + 50_400 * 10**9 + i * BATCH * 1_000 + np.arange(BATCH) * 1_000
    return pl.DataFrame({"ts": pl.Series(ts).cast(TS), "symbol": "ACME",
                         "price": np.full(BATCH, float(i)), "size": np.full(BATCH, 100.0),
                         "side": pl.Series(np.ones(BATCH), dtype=pl.Int8)})


def writer(root: str, started) -> None:
    lake = Lake(root)
    started.set()
    for i in range(BATCHES):
        lake.write_ticks(batch(i))
        if i == 20:
            lake.compact()


def test_reader_never_sees_partial_or_doubled_data(tmp_path):
    ctx = mp.get_context("spawn")
    started = ctx.Event()
    proc = ctx.Process(target=writer, args=(str(tmp_path), started))
    proc.start()
    started.wait(60)
    lake = Lake(tmp_path)
    reads = []
    while proc.is_alive() or not reads:
        df = lake.ticks("ACME")
        counts = df.group_by("price").len()
        # every batch seen is whole and seen once; batches arrive in order
        assert (counts["len"] == BATCH).all(), counts
        seen = sorted(int(p) for p in counts["price"])
        assert seen == list(range(len(seen)))
        assert df["ts"].is_sorted()
        reads.append(len(seen))
    proc.join(60)
    assert proc.exitcode == 0
    assert lake.ticks("ACME").height == BATCHES * BATCH
    assert len(set(reads)) > 2  # the reader really overlapped the writes
    live = lake._parts("ticks", ["ACME"], TimeRange())
    assert [p.rows for _, p in live] == [21 * BATCH, 16 * BATCH] + [BATCH] * 3
