"""The embedded market-data lake: Parquet files partitioned by table / symbol / UTC date.

Layout::

    <root>/<table>/<symbol>/<YYYY-MM-DD>/p_<lo>_<hi>_<gen>_<rows>_<first_ns>_<last_ns>_<hash>.parquet

Every part file is immutable and self-describing: its name carries its row count, its first and
last timestamp and the content hash of the batch it holds, so the catalog, pruning and latest
prices come from directory listings without opening a file. Writes go to a hidden temp file
and are renamed into place, so a reader in another process only ever sees whole files.

``lo``/``hi`` number the writes into a partition (an append takes ``hi + 1``); a rewrite
(``compact``, ``delete``) produces one file spanning the numbers it replaces with a higher
``gen``, then removes those files. Readers drop any file whose span another file covers, so
they see either the old parts or the new one, never both. Writers to one symbol take a
``flock`` on ``<root>/<table>/<symbol>/.lock``; readers take no lock.

Idempotent ingest: each partition keeps ``.ingested``, the hashes of the batches written to
it; a batch whose hash is there (or names a live part) is skipped. ``delete`` forgets the
hashes of the partitions it touches, so deleted data can be ingested again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import polars as pl

from cift.data.schema import TABLES, TICKS
from cift.data.timestamps import TimeLike
from cift.data.validate import validate_frame
from cift.errors import StoreError
from cift.store.base import (
    Store,
    TimeRange,
    WriteResult,
    normalize_columns,
    normalize_symbols,
)

__all__ = ["Lake"]

_DAY_NS = 86_400 * 1_000_000_000
_EPOCH = dt.date(1970, 1, 1)
_HASH_LOG = ".ingested"
_LOCK = ".lock"
_READ_RETRIES = 5


@dataclass(frozen=True, slots=True)
class _Part:
    """One part file, described by its name."""

    path: Path
    lo: int
    hi: int
    gen: int
    rows: int
    first_ns: int
    last_ns: int
    digest: str

    @classmethod
    def parse(cls, path: Path) -> _Part | None:
        name = path.name
        if not (name.startswith("p_") and name.endswith(".parquet")):
            return None
        try:
            lo, hi, gen, rows, first, last, digest = name[2:-8].split("_")
            return cls(path, int(lo), int(hi), int(gen), int(rows), int(first), int(last), digest)
        except ValueError:
            return None

    @staticmethod
    def name(lo: int, hi: int, gen: int, rows: int, first: int, last: int, digest: str) -> str:
        return f"p_{lo:08d}_{hi:08d}_{gen:04d}_{rows}_{first}_{last}_{digest}.parquet"


def _encode_symbol(symbol: str) -> str:
    """A directory name for any symbol text (``BRK.B``, ``^GSPC``, ``ES=F``, ``a/b``, ``..``)."""
    enc = quote(symbol, safe="")
    return "%2E" + enc[1:] if enc.startswith(".") else enc


def _day_dir(day: int) -> str:
    return (_EPOCH + dt.timedelta(days=day)).isoformat()


def _dir_day(name: str) -> int | None:
    try:
        return (dt.date.fromisoformat(name) - _EPOCH).days
    except ValueError:
        return None


def _live_parts(partition: Path) -> list[_Part]:
    """Parts a reader should see: those no other part's span (lo..hi, gen) replaces."""
    try:
        parts = [p for e in os.scandir(partition) if (p := _Part.parse(Path(e.path)))]
    except FileNotFoundError:
        return []
    if len(parts) > 1:
        parts.sort(key=lambda p: (p.lo, -p.hi, -p.gen))
        live: list[_Part] = []
        for p in parts:
            if live and p.hi <= live[-1].hi and p.gen < live[-1].gen:
                continue  # a rewrite already covers it (its originals are about to go)
            live.append(p)
        parts = live
    return parts


def _digest(chunk: pl.DataFrame) -> str:
    """A stable content hash of a validated chunk (column bytes, not Polars' hash_rows)."""
    h = hashlib.blake2b(digest_size=12)
    for col in chunk.get_columns():
        if col.dtype == pl.String:
            h.update("\x1f".join(col.unique(maintain_order=True).to_list()).encode())
            h.update(col.rle_id().to_numpy().tobytes())
        else:
            h.update(col.to_physical().to_numpy().tobytes())
    return h.hexdigest()


class Lake(Store):
    """The embedded Parquet lake (the default store).

    Parameters
    ----------
    root : str or Path
        The lake directory (created if missing); by default ``CIFT_HOME/lake``.
    compression : str
        Parquet codec for new parts.
    """

    def __init__(self, root: str | Path, *, compression: str = "zstd") -> None:
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the lake at {self.root}: {exc}") from None
        self.url = f"lake://{self.root}"
        self.compression = compression

    # -- paths and locks ------------------------------------------------------------------
    def _symbol_dir(self, table: str, symbol: str) -> Path:
        return self.root / table / _encode_symbol(symbol)

    @contextmanager
    def _locked(self, table: str, symbol: str) -> Iterator[Path]:
        sym_dir = self._symbol_dir(table, symbol)
        sym_dir.mkdir(parents=True, exist_ok=True)
        with open(sym_dir / _LOCK, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield sym_dir
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _stored_symbols(self, table: str) -> list[str]:
        try:
            return sorted(unquote(e.name) for e in os.scandir(self.root / table) if e.is_dir())
        except FileNotFoundError:
            return []

    def _partitions(self, table: str, symbol: str, rng: TimeRange) -> list[Path]:
        """Date directories of one symbol that can hold rows in ``rng``, in date order."""
        lo = None if rng.start is None else rng.start // _DAY_NS
        hi = None if rng.end is None else (rng.end - 1) // _DAY_NS
        days = []
        try:
            entries = list(os.scandir(self._symbol_dir(table, symbol)))
        except FileNotFoundError:
            return []
        for e in entries:
            day = _dir_day(e.name)
            if day is not None and (lo is None or day >= lo) and (hi is None or day <= hi):
                days.append((day, Path(e.path)))
        return [p for _, p in sorted(days)]

    def _parts(self, table: str, symbols: list[str] | None, rng: TimeRange) -> list[_Part]:
        """Live parts overlapping ``rng``, ordered by symbol, date, write order."""
        out = []
        for sym in symbols if symbols is not None else self._stored_symbols(table):
            for partition in self._partitions(table, sym, rng):
                out.extend(p for p in _live_parts(partition)
                           if p.rows and rng.overlaps(p.first_ns, p.last_ns))
        return out

    # -- writes ---------------------------------------------------------------------------
    def write_ticks(self, df: pl.DataFrame, *, source: str = "frame") -> WriteResult:
        """Validate and store trades; a batch already stored is skipped (see :class:`Lake`)."""
        return self.write("ticks", df, source=source)

    def write_quotes(self, df: pl.DataFrame, *, source: str = "frame") -> WriteResult:
        """Validate and store L1 quotes; a batch already stored is skipped."""
        return self.write("quotes", df, source=source)

    def write(self, table: str, df: pl.DataFrame, *, source: str = "frame",
              validated: bool = False, progress: bool = False) -> WriteResult:
        """Store a frame of ``table`` rows: validate, split by symbol and UTC date, write parts.

        Nothing is written unless the whole frame is valid. Each (symbol, date) chunk becomes
        one part, written atomically; chunks already ingested (same content hash) are skipped.
        """
        df = df if validated else validate_frame(df, table, source=source)
        if df.height == 0:
            return WriteResult(0)
        by_symbol = df.with_columns(
            _day=pl.col("ts").dt.epoch("ns") // _DAY_NS
        ).partition_by("symbol", as_dict=True, maintain_order=True)
        jobs = [(table, key[0], chunk) for key, chunk in by_symbol.items()]
        total = WriteResult(0)
        bar = _progress(len(jobs), f"writing {table}", progress)
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for result in pool.map(lambda job: self._write_symbol(*job), jobs):
                total += result
                bar.update(1)
        bar.close()
        return total

    def _write_symbol(self, table: str, symbol: str, df: pl.DataFrame) -> WriteResult:
        result = WriteResult(0)
        with self._locked(table, symbol) as sym_dir:
            for (day,), chunk in df.partition_by("_day", as_dict=True,
                                                 maintain_order=True).items():
                chunk = chunk.drop("_day")
                if not chunk.get_column("ts").is_sorted():
                    chunk = chunk.sort("ts", maintain_order=True)
                result += self._append(sym_dir / _day_dir(day), chunk)
        return result

    def _append(self, partition: Path, chunk: pl.DataFrame) -> WriteResult:
        """Add one chunk to a partition (caller holds the symbol lock)."""
        digest = _digest(chunk)
        partition.mkdir(exist_ok=True)
        parts = _live_parts(partition)
        log = partition / _HASH_LOG
        known = set(log.read_text().split()) if log.exists() else set()
        if digest in known or any(p.digest == digest for p in parts):
            return WriteResult(0, chunk.height)
        seq = max((p.hi for p in parts), default=0) + 1
        self._write_part(partition, chunk, seq, seq, 0, digest)
        with log.open("a") as f:  # after the part: a crash in between still finds its name
            f.write(digest + "\n")
        return WriteResult(chunk.height)

    def _write_part(self, partition: Path, chunk: pl.DataFrame, lo: int, hi: int, gen: int,
                    digest: str) -> Path:
        ts = chunk.get_column("ts").to_physical()
        first, last = (int(ts[0]), int(ts[-1])) if chunk.height else (0, 0)
        final = partition / _Part.name(lo, hi, gen, chunk.height, first, last, digest)
        tmp = partition / f".tmp-{uuid.uuid4().hex}.parquet"
        try:
            chunk.write_parquet(tmp, compression=self.compression, statistics=True)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def _rewrite(self, partition: Path, keep: pl.Expr | None) -> tuple[int, int]:
        """Replace a partition's live parts by one part of the rows matching ``keep``.

        Returns (rows before, rows after). The new part is in place before the old ones go;
        an empty result is written too (a tombstone) and removed last, so readers never see
        a partly deleted partition.
        """
        parts = _live_parts(partition)
        if not parts:
            return 0, 0
        before = sum(p.rows for p in parts)
        data = pl.read_parquet([p.path for p in parts if p.rows]) if before else None
        kept = data.filter(keep) if data is not None and keep is not None else data
        if kept is None:
            kept = pl.DataFrame(schema=pl.read_parquet_schema(parts[0].path))
        if keep is None and len(parts) == 1:
            return before, before  # compact: nothing to merge
        if not kept.get_column("ts").is_sorted():
            kept = kept.sort("ts", maintain_order=True)
        new = self._write_part(partition, kept, min(p.lo for p in parts),
                               max(p.hi for p in parts), max(p.gen for p in parts) + 1,
                               _digest(kept))
        for p in parts:
            p.path.unlink(missing_ok=True)
        if kept.height == 0:
            new.unlink()
        return before, kept.height

    def compact(self, symbols: str | Iterable[str] | None = None) -> int:
        """Merge each partition's parts into one file; returns the number of files merged away.

        Safe while other processes read; appends to the same symbol wait for it.
        """
        syms = normalize_symbols(symbols)
        merged = 0
        for table in TABLES:
            for sym in syms if syms is not None else self._stored_symbols(table):
                with self._locked(table, sym):
                    for partition in self._partitions(table, sym, TimeRange()):
                        n = len(_live_parts(partition))
                        if n > 1:
                            self._rewrite(partition, None)
                            merged += n - 1
        return merged

    def delete(self, symbols: str | Iterable[str], start: TimeLike = None,
               end: TimeLike = None) -> int:
        """Delete ticks and quotes of ``symbols`` in [start, end); returns rows deleted.

        The partitions touched forget which batches they ingested, so the same data can be
        ingested again afterwards.
        """
        syms = normalize_symbols(symbols)
        if not syms:
            raise StoreError("delete needs at least one symbol")
        rng = TimeRange.of(start, end)
        in_range = rng.expr()
        deleted = 0
        for table in TABLES:
            for sym in syms:
                if not self._symbol_dir(table, sym).exists():
                    continue
                with self._locked(table, sym):
                    for partition in self._partitions(table, sym, rng):
                        parts = _live_parts(partition)
                        if not any(rng.overlaps(p.first_ns, p.last_ns) for p in parts if p.rows):
                            continue
                        keep = None if in_range is None else ~in_range
                        if all(rng.covers(p.first_ns, p.last_ns) for p in parts):
                            keep = pl.lit(False)
                        before, after = self._rewrite(partition, keep)
                        (partition / _HASH_LOG).unlink(missing_ok=True)
                        _remove_if_empty(partition)
                        deleted += before - after
        return deleted

    # -- reads ----------------------------------------------------------------------------
    def _read(self, table: str, symbols: str | Iterable[str] | None, start: TimeLike,
              end: TimeLike, columns: Sequence[str] | None, *, time_order: bool) -> pl.DataFrame:
        cols = normalize_columns(table, columns)
        syms = normalize_symbols(symbols)
        rng = TimeRange.of(start, end)
        for attempt in range(_READ_RETRIES):
            parts = self._parts(table, syms, rng)
            if not parts:
                return pl.DataFrame(schema={c: TABLES[table][c] for c in cols})
            scan = pl.scan_parquet([p.path for p in parts])
            if not all(rng.covers(p.first_ns, p.last_ns) for p in parts):
                scan = scan.filter(rng.expr())
            need = cols if (not time_order or "ts" in cols) else [*cols, "ts"]
            if time_order and "symbol" not in need and len({p.path.parts[-3] for p in parts}) > 1:
                need = [*need, "symbol"]
            try:
                df = scan.select(need).collect()
                break
            except FileNotFoundError:
                # a rewrite removed a part between listing and reading: list again
                time.sleep(0.01 * (attempt + 1))
        else:
            raise StoreError(f"{table}: the lake kept changing while being read; try again")
        if time_order and not df.get_column("ts").is_sorted():
            keys = ["ts", "symbol"] if "symbol" in df.columns else ["ts"]
            df = df.sort(keys, maintain_order=True)
        return df.select(cols)

    def ticks(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
              end: TimeLike = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Trades in [start, end), ordered by ts (ties: symbol, then arrival order)."""
        return self._read("ticks", symbols, start, end, columns, time_order=True)

    def quotes(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
               end: TimeLike = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """L1 quotes in [start, end), ordered by ts (ties: symbol, then arrival order)."""
        return self._read("quotes", symbols, start, end, columns, time_order=True)

    def bars(self, symbols: str | Iterable[str] | None, interval: str,
             start: TimeLike = None, end: TimeLike = None) -> pl.DataFrame:
        """Time bars from stored ticks (see :meth:`Store.bars`)."""
        from cift.data.bars import time_bars

        # symbol-grouped order is what the bar kernel wants; skip the global time sort
        ticks = self._read("ticks", symbols, start, end, ["ts", "symbol", "price", "size"],
                           time_order=False)
        return time_bars(ticks, interval)

    def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last trade per symbol (symbol, ts, price, size, side), sorted by symbol."""
        syms = normalize_symbols(symbols)
        frames = []
        for sym in syms if syms is not None else self._stored_symbols("ticks"):
            for partition in reversed(self._partitions("ticks", sym, TimeRange())):
                parts = [p for p in _live_parts(partition) if p.rows]
                if parts:
                    last_ns = max(p.last_ns for p in parts)
                    files = [p.path for p in parts if p.last_ns == last_ns]
                    # statistics prune every row group but the last one
                    frames.append(pl.scan_parquet(files).filter(
                        pl.col("ts") == pl.lit(last_ns, dtype=TICKS["ts"])).last())
                    break
        schema = {"symbol": TICKS["symbol"], **{k: v for k, v in TICKS.items() if k != "symbol"}}
        if not frames:
            return pl.DataFrame(schema=schema)
        return pl.concat(pl.collect_all(frames)).select(list(schema)).sort("symbol")

    def catalog(self) -> pl.DataFrame:
        """What is stored, from file names alone: table, symbol, first_ts, last_ts, rows."""
        rows = []
        for table in TABLES:
            for sym in self._stored_symbols(table):
                parts = [p for p in self._parts(table, [sym], TimeRange())]
                if parts:
                    rows.append((table, sym, min(p.first_ns for p in parts),
                                 max(p.last_ns for p in parts), sum(p.rows for p in parts)))
        frame = pl.DataFrame(rows, schema={"table": pl.String, "symbol": pl.String,
                                           "first_ts": pl.Int64, "last_ts": pl.Int64,
                                           "rows": pl.Int64}, orient="row")
        return frame.with_columns(pl.col("first_ts", "last_ts").cast(TICKS["ts"]))


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool):
    """A tqdm bar when asked for and worth it, else a no-op with the same methods."""
    if not enabled or total < 2:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="symbol", leave=False)
