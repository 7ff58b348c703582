"""Ingest of a file too large to hold in memory: validate it all, then write whole chunks.

A file is read in pieces (:func:`cift.data.importer.read_market_pieces`). Nothing may be
written until the last piece has passed validation (a bad file changes nothing), so each
validated piece waits on disk, sorted by (UTC day, symbol), in a temporary directory
(``TMPDIR``). Then the pieces are read back in groups of whole (symbol, day) chunks of
about :data:`WRITE_ROWS` rows and written. A chunk holds the same rows in the same order as
when the file is read whole, so its content hash is the same: ingesting the file again, whole
or in pieces, skips it.

If a write fails part-way (a server gone), the groups written stay; ingesting the file again
writes the rest.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from cift.data.importer import ImportOptions, read_market_pieces
from cift.errors import StoreError

__all__ = ["WRITE_ROWS", "large_file_writes"]

#: Rows of one write from the spilled pieces (whole chunks; one chunk larger goes alone).
WRITE_ROWS = 4_000_000
_DAY = "_day"


class _Spill:
    """Validated pieces on disk, sorted by (day, symbol), and their rows per (day, symbol)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: list[Path] = []
        self.counts: list[pl.DataFrame] = []

    def add(self, df: pl.DataFrame) -> None:
        # a stable sort: each chunk's rows keep the file's order
        keyed = df.with_columns(pl.col("ts").dt.epoch("d").alias(_DAY)).sort(
            _DAY, "symbol", maintain_order=True)
        path = self.directory / f"piece-{len(self.files):06d}.parquet"
        keyed.write_parquet(path, compression="lz4", row_group_size=256_000, statistics=True)
        self.files.append(path)
        self.counts.append(keyed.group_by(_DAY, "symbol").len())

    def groups(self, rows: int) -> Iterator[pl.DataFrame]:
        """The spilled rows in groups of whole (symbol, day) chunks, about ``rows`` each,
        in (day, symbol) order."""
        if not self.files:
            return
        keys = (pl.concat(self.counts).group_by(_DAY, "symbol").agg(pl.col("len").sum())
                .sort(_DAY, "symbol")
                # a chunk joins the group in which its first row falls
                .with_columns(group=(pl.col("len").cum_sum() - pl.col("len")) // rows))
        spans = keys.group_by("group", maintain_order=True).agg(
            pl.col(_DAY).first().alias("d0"), pl.col("symbol").first().alias("s0"),
            pl.col(_DAY).last().alias("d1"), pl.col("symbol").last().alias("s1"))
        scan = pl.scan_parquet(self.files, glob=False)
        day, sym = pl.col(_DAY), pl.col("symbol")
        for _, d0, first, d1, last in spans.iter_rows():
            s0, s1 = pl.lit(first, pl.String), pl.lit(last, pl.String)
            # (day, symbol) from (d0, s0) to (d1, s1); the plain range tests first, so the
            # reader can skip row groups by their statistics
            if d0 == d1:
                cond = (day == d0) & sym.is_between(s0, s1)
            else:
                cond = (day.is_between(d0, d1) & ~((day == d0) & (sym < s0))
                        & ~((day == d1) & (sym > s1)))
            # (the in-memory engine keeps the files' order, so each chunk's rows too)
            yield scan.filter(cond).drop(_DAY).collect(engine="in-memory")


def large_file_writes(path: Path, options: ImportOptions, *,
                      on_progress: Callable[[float, str], None] = lambda done, stage: None
                      ) -> Iterator[tuple[str, pl.DataFrame]]:
    """Validate the file at ``path`` piece by piece, then give it back as (table, frame)
    writes of whole (symbol, day) chunks.

    ``on_progress(share_read, stage)`` follows the reading (share 0 to 1) and the writing.
    """
    with tempfile.TemporaryDirectory(prefix="cift-ingest-") as tmp:
        spill = _Spill(Path(tmp))
        table = options.table
        for piece in read_market_pieces(path, options):
            table = piece.table
            try:
                spill.add(piece.frame)
            except OSError as exc:  # (Polars' file errors are OSErrors too)
                raise StoreError(f"{path}: cannot keep the validated pieces under {tmp}: "
                                 f"{exc.strerror or exc} (they take about the file's size "
                                 f"as Parquet; TMPDIR names another place)") from None
            on_progress(piece.done, "reading")
        for i, frame in enumerate(spill.groups(WRITE_ROWS)):
            on_progress(1.0, f"writing part {i + 1}")
            yield table, frame
