"""The embedded market-data lake: Parquet files partitioned by table / symbol / UTC date.

Layout (Hive-style, so DuckDB, pyarrow and ``pl.scan_parquet(hive_partitioning=True)`` read
it as it is; symbols are percent-encoded)::

    <root>/<table>/symbol=<symbol>/date=<YYYY-MM-DD>/p_<lo>_<hi>_<gen>_<rows>_<first>_<last>_<hash>.parquet

The symbol lives in the path only (a constant text column would cost a third of the write).
Every part file is immutable and self-describing: its name carries its row count, its first and
last timestamp and the content hash of the batch it holds, so the catalog, pruning and latest
prices come from directory listings without opening a file. Writes go to a hidden temp file
and are renamed into place, so a reader in another process only ever sees whole files.

``lo``/``hi`` number the writes into a partition (an append takes ``hi + 1``); a rewrite
(``compact``, ``delete``, and a write merging the partition's newest small parts: see
``_merge_run``) produces one file spanning the numbers it replaces with a higher ``gen``, then
removes those files. Readers drop any file whose span another file covers, so
they see either the old parts or the new one, never both. Writers to one symbol take a
``flock`` on ``<root>/<table>/symbol=<symbol>/.lock``; readers take no lock.

Idempotent ingest: a batch is skipped when its hash names a live part of its partition, or is
in the partition's ``.ingested``, where a merge keeps the hashes of the parts it takes in.
``delete`` forgets the hashes of the partitions it touches, so deleted data can be ingested
again.
"""

from __future__ import annotations

import bisect
import datetime as dt
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import polars as pl
from tqdm.auto import tqdm

from cift.data.schema import BARS, TABLES, TICKS
from cift.data.timestamps import TimeLike
from cift.data.validate import validate_frame
from cift.errors import DataError, ParameterError, StoreError
from cift.store.base import (
    Store,
    TimeRange,
    WriteResult,
    normalize_columns,
    normalize_symbols,
)
from cift.store.batches import Batch, Chunk, staged_file

__all__ = ["Lake"]

_DAY_NS = 86_400 * 1_000_000_000
_EPOCH = dt.date(1970, 1, 1)
_HASH_LOG = ".ingested"
_LOCK = ".lock"
_READ_RETRIES = 5
_UNION = 250  # scans of part files in one union of a read (see _read)
_SMALL_PART = 8_000  # rows below which a part is read by path, not by a scan of its own
_BARS_AT_ONCE = 20_000_000  # ticks of many symbols that bars() reads in one go
_MERGE_FAN = 16  # small parts in a row that a write merges into one (see _merge_run)
_MERGE_ROWS = 1 << 20  # rows of the largest part such a merge makes (compact() merges any)
_STAGING = ".staging-"  # a write's staged parts, in a folder under the root
_TMP = ".tmp-"  # a rewrite's new part before its rename, in its partition
_STALE_S = 3_600  # staging or temp files untouched this long were left by a killed writer
_MERGED_S = 60  # seconds parts merged away stay for readers that listed them
_KEEP_MERGED = 4 * _MERGE_FAN  # and at most this many of them per partition
_PATH = "__cift_part__"  # the column naming each row's part file in a read by path
_CODECS = ("uncompressed", "lz4", "snappy", "zstd", "gzip", "brotli")  # Parquet codecs for parts


@dataclass(frozen=True, slots=True)
class _Part:
    """One part file, described by its name."""

    path: str
    lo: int
    hi: int
    gen: int
    rows: int
    first_ns: int
    last_ns: int
    digest: str

    @classmethod
    def parse(cls, path: str, name: str) -> _Part | None:
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


_SYMBOL_KEY, _DATE_KEY = "symbol=", "date="
_NAME_MAX = 255  # bytes in a file or directory name (ext4, XFS, APFS, NTFS)


def _symbol_dir_name(symbol: str) -> str:
    """A directory name for any symbol text (``BRK.B``, ``^GSPC``, ``ES=F``, ``a/b``, ``..``)."""
    return _SYMBOL_KEY + quote(symbol, safe="")


def _storable(symbol: str) -> bool:
    """Whether the symbol's directory name fits a file system's 255 bytes: up to 248 letters
    and digits; any other character is percent-encoded, three bytes per byte of its UTF-8."""
    return len(_symbol_dir_name(symbol)) <= _NAME_MAX


def _day_dir(day: int) -> str:
    return _DATE_KEY + (_EPOCH + dt.timedelta(days=day)).isoformat()


def _dir_day(name: str) -> int | None:
    if not name.startswith(_DATE_KEY):
        return None
    try:
        return (dt.date.fromisoformat(name[len(_DATE_KEY):]) - _EPOCH).days
    except ValueError:
        return None


def _live_parts(partition: Path) -> list[_Part]:
    """Parts a reader should see: those no other part's span (lo..hi, gen) replaces."""
    return _sorted_parts(partition)[0]


def _sorted_parts(partition: Path) -> tuple[list[_Part], list[_Part]]:
    """(live parts in write order, parts a rewrite covers: merged away, not yet removed)."""
    try:
        # names parsed as text: a Path per entry cost ~10 us, most of listing a partition
        parts = [p for e in os.scandir(partition) if (p := _Part.parse(e.path, e.name))]
    except FileNotFoundError:
        return [], []
    covered: list[_Part] = []
    if len(parts) > 1:
        parts.sort(key=lambda p: (p.lo, -p.hi, -p.gen))
        live: list[_Part] = []
        for p in parts:
            if live and p.hi <= live[-1].hi and p.gen < live[-1].gen:
                covered.append(p)  # a rewrite already covers it
            else:
                live.append(p)
        parts = live
    return parts, covered


def _merge_run(parts: list[_Part]) -> list[_Part]:
    """The newest parts of a partition (live, in write order) that a write merges into one,
    in write order; none if the partition needs no merge.

    A partition appended to in small batches (a live runner writing every second) would grow
    a part per write, and reads and writes slow with their number (3,000 parts: a write
    111 ms, a read of the day 0.3 s). Going back from the newest part, a part joins the run
    while it holds no more rows than the newer ones together (and the run stays within
    ``_MERGE_ROWS``); a run of ``_MERGE_FAN`` parts merges. Equal batches merge 16 at a
    time, and a merged part joins a later merge once as many newer rows follow it: each row
    is rewritten a few times (5 to 8 over a day of per-second batches of 1 to 300 rows,
    simulated), and a partition keeps a few dozen parts. Should sizes defeat the rule (each
    part larger than all newer ones), the newest parts merge anyway once three runs' worth of
    them fit in ``_MERGE_ROWS``. Larger parts are ``compact()``'s to merge."""
    run = _newest(parts, lambda part, newer: part.rows <= newer)
    if len(run) >= _MERGE_FAN:
        return run
    tail = _newest(parts, lambda part, newer: True)
    return tail if len(tail) >= 3 * _MERGE_FAN else []


def _newest(parts: list[_Part], joins) -> list[_Part]:
    """The newest parts, in write order, that fit in ``_MERGE_ROWS`` together, going back
    while ``joins(part, rows of the newer ones)``."""
    run, rows = [], 0
    for p in reversed(parts):
        if (run and not joins(p, rows)) or rows + p.rows > _MERGE_ROWS:
            break
        run.append(p)
        rows += p.rows
    return run[::-1]


def _holds(partition: Path, parts: list[_Part], chunk: Chunk) -> bool:
    """Whether a partition holds the batch ``chunk``: a live part named by its hash, or one
    that a merge took in (its hash kept in the partition's log). The log is read only when
    a live part spans the chunk's first time, where its rows would be if stored: an append
    of newer rows (a live runner's) does not read it, which grows by a line per write."""
    if any(p.digest == chunk.digest for p in parts):
        return True
    if not any(p.first_ns <= chunk.first_ns <= p.last_ns for p in parts):
        return False
    try:  # (a hash is one whole line: hex digits of one length)
        return chunk.digest in (partition / _HASH_LOG).read_text()
    except FileNotFoundError:
        return False


def _digest(symbol: str, df: pl.DataFrame) -> str:
    """The content hash :class:`Batch` gives a chunk of ``symbol``'s rows (for rewrites)."""
    if df.height == 0:
        return "0" * 24
    return Batch.of(df.with_columns(symbol=pl.lit(symbol, pl.String))).chunks[0].digest


class Lake(Store):
    """The embedded Parquet lake (the default store).

    Parameters
    ----------
    root : str or Path
        The lake directory (created if missing); by default ``CIFT_HOME/lake``.
    compression, compression_level :
        Parquet codec for new parts ("uncompressed", "lz4", "snappy", "zstd", ...; parts
        written with any codec read alike). Uncompressed by default, for reading speed: a
        symbol's week of 1-minute bars (230k ticks) took 7.2 ms against 9.1 ms over LZ4
        (which halves the files: timestamps barely compress, prices and sizes 3-5x) and
        writing 10M ticks 0.76 s against 1.0 s. Pass "lz4" to halve the disk, "zstd" for
        archives (about half of LZ4's size again, reads 2-2.5x slower).
    """

    def __init__(self, root: str | Path, *, compression: str = "uncompressed",
                 compression_level: int | None = None) -> None:
        if compression not in _CODECS:
            raise ParameterError(f"compression: expected one of {_CODECS}, got {compression!r}")
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the lake at {self.root}: {exc}") from None
        self.url = f"lake://{self.root}"
        self.compression = compression
        self.compression_level = compression_level
        _remove_stale(self.root, _STAGING)

    # -- paths and locks ------------------------------------------------------------------
    def _symbol_dir(self, table: str, symbol: str) -> Path:
        return self.root / table / _symbol_dir_name(symbol)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """File-system errors of a write as a StoreError naming the lake (a read-only
        mount, a full disk); what was written before stays whole (files are renamed in)."""
        try:
            yield
        except OSError as exc:
            raise StoreError(f"cannot write to the lake at {self.root}: "
                             f"{exc.strerror or exc} ({exc.filename or ''})") from None

    @contextmanager
    def _locked(self, table: str, symbol: str) -> Iterator[Path]:
        """The symbol's directory, locked against other writers (every write to it runs
        inside, so its errors come out as :meth:`_writing` says)."""
        with self._writing():
            sym_dir = self._symbol_dir(table, symbol)
            sym_dir.mkdir(parents=True, exist_ok=True)
            # a lock file opened for writing, not the directory itself (one file fewer to
            # make): NFS emulates flock with byte-range locks, and an exclusive one needs a
            # writable file
            with open(sym_dir / _LOCK, "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield sym_dir  # closing the file releases the lock

    def _stored_symbols(self, table: str) -> list[str]:
        try:
            return sorted(unquote(e.name[len(_SYMBOL_KEY):]) for e in os.scandir(self.root / table)
                          if e.is_dir() and e.name.startswith(_SYMBOL_KEY))
        except FileNotFoundError:
            return []

    def _partitions(self, table: str, symbol: str, rng: TimeRange) -> list[Path]:
        """Date directories of one symbol that can hold rows in ``rng``, in date order."""
        lo = None if rng.start is None else rng.start // _DAY_NS
        hi = None if rng.end is None else (rng.end - 1) // _DAY_NS
        days = []
        if not _storable(symbol):
            return []
        try:
            entries = list(os.scandir(self._symbol_dir(table, symbol)))
        except FileNotFoundError:
            return []
        for e in entries:
            day = _dir_day(e.name)
            if day is not None and (lo is None or day >= lo) and (hi is None or day <= hi):
                days.append((day, Path(e.path)))
        return [p for _, p in sorted(days)]

    def _parts(self, table: str, symbols: list[str] | None, rng: TimeRange
               ) -> list[tuple[str, _Part]]:
        """(symbol, part) of live parts overlapping ``rng``, by symbol, date, write order."""
        out = []
        for sym in symbols if symbols is not None else self._stored_symbols(table):
            for partition in self._partitions(table, sym, rng):
                out.extend((sym, p) for p in _live_parts(partition)
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
              validated: bool = False) -> WriteResult:
        """Store a frame of ``table`` rows: validate, split by symbol and UTC date, write parts.

        Nothing is written unless the whole frame is valid. Each (symbol, date) chunk becomes
        one part; chunks already ingested (same content hash) are skipped. One partitioned
        Parquet write stages every new part in a hidden folder; each is then renamed into
        place under its symbol's lock, so readers see a part whole or not at all.
        """
        df = df if validated else validate_frame(df, table, source=source)
        if df.height == 0:
            return WriteResult(0)
        batch = Batch.of(df)
        too_long = [c.symbol for c in batch.chunks if not _storable(c.symbol)]
        if too_long:
            raise DataError(f"symbol {too_long[0][:40]!r}... is too long for the lake's "
                            f"directory names (at most {_NAME_MAX - len(_SYMBOL_KEY)} bytes, "
                            f"percent-encoded)", source=source, field="symbol")
        todo: dict[str, list[Chunk]] = {}
        skipped = 0
        for chunk in batch.chunks:
            if self._known(table, chunk):
                skipped += chunk.rows
            else:
                todo.setdefault(chunk.symbol, []).append(chunk)
        if not todo:
            return WriteResult(0, skipped)
        stage = self.root / f"{_STAGING}{uuid.uuid4().hex}"
        try:
            with self._writing():
                batch.write_staged(stage, [c.key for cs in todo.values() for c in cs],
                                   self.compression, self.compression_level)
            written = 0
            for symbol, chunks in todo.items():
                with self._locked(table, symbol) as sym_dir:
                    for chunk in chunks:
                        written += self._place(sym_dir / _day_dir(chunk.day), chunk, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return WriteResult(written, skipped + sum(c.rows for cs in todo.values()
                                                  for c in cs) - written)

    def _known(self, table: str, chunk: Chunk) -> bool:
        """Whether a partition already holds this chunk (by content hash)."""
        partition = self._symbol_dir(table, chunk.symbol) / _day_dir(chunk.day)
        return _holds(partition, _live_parts(partition), chunk)

    def _place(self, partition: Path, chunk: Chunk, stage: Path) -> int:
        """Move a staged chunk into its partition (caller holds the symbol lock); rows added."""
        partition.mkdir(exist_ok=True)
        parts, covered = _sorted_parts(partition)
        if _holds(partition, parts, chunk):
            return 0  # another writer stored the same batch meanwhile
        seq = max((p.hi for p in parts), default=0) + 1
        name = _Part.name(seq, seq, 0, chunk.rows, chunk.first_ns, chunk.last_ns, chunk.digest)
        # the part's name carries its hash: the log gets it only when a merge takes it in
        os.replace(staged_file(stage, chunk.key), partition / name)
        parts.append(_Part.parse(str(partition / name), name))
        while run := _merge_run(parts):
            self._rewrite(partition, None, run)
            parts, covered = _sorted_parts(partition)
        _remove_merged(parts, covered)
        return chunk.rows

    def _write_part(self, partition: Path, chunk: pl.DataFrame, lo: int, hi: int, gen: int,
                    digest: str) -> Path:
        ts = chunk.get_column("ts").to_physical()
        first, last = (int(ts[0]), int(ts[-1])) if chunk.height else (0, 0)
        final = partition / _Part.name(lo, hi, gen, chunk.height, first, last, digest)
        tmp = partition / f"{_TMP}{uuid.uuid4().hex}"  # no .parquet: globs must not see it
        try:
            chunk.write_parquet(tmp, compression=self.compression,
                                compression_level=self.compression_level, statistics=True)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def _rewrite(self, partition: Path, keep: pl.Expr | None,
                 parts: list[_Part] | None = None) -> tuple[int, int]:
        """Replace a partition's live parts (or ``parts``, the newest ones in write order) by
        one part of the rows matching ``keep``.

        Returns (rows before, rows after). The new part is in place before the old ones go;
        an empty result is written too (a tombstone) and removed last, so readers never see
        a partly deleted partition. A merge of ``parts`` leaves the old ones for
        :func:`_remove_merged` (readers that listed them a moment ago still read them).
        """
        merging, covered = parts is not None, []
        if parts is None:
            parts, covered = _sorted_parts(partition)
        if not parts:
            return 0, 0
        before = sum(p.rows for p in parts)
        data = pl.read_parquet([p.path for p in parts if p.rows], glob=False) if before else None
        kept = data.filter(keep) if data is not None and keep is not None else data
        if kept is None:
            kept = pl.DataFrame(schema=pl.scan_parquet(parts[0].path, glob=False).collect_schema())
        if keep is None:
            if len(parts) == 1:
                return before, before  # compact: nothing to merge
            with (partition / _HASH_LOG).open("a") as log:  # the hashes leave with the names
                log.write("".join(p.digest + "\n" for p in parts))
        if not kept.get_column("ts").is_sorted():
            kept = kept.sort("ts", maintain_order=True)
        symbol = unquote(partition.parent.name[len(_SYMBOL_KEY):])
        new = self._write_part(partition, kept, min(p.lo for p in parts),
                               max(p.hi for p in parts), max(p.gen for p in parts) + 1,
                               _digest(symbol, kept))
        if not merging:  # (parts merged away before stay hidden: removed with the rest)
            for p in parts + covered:
                with suppress(FileNotFoundError):
                    os.unlink(p.path)
        if kept.height == 0:
            new.unlink()
        return before, kept.height

    def compact(self, symbols: str | Iterable[str] | None = None, *,
                progress: bool = False) -> int:
        """Merge each partition's parts into one file; returns the number of files merged away.

        Temporary files that a writer killed mid-rewrite left (an hour old) go too; staged
        writes left so are removed whenever the lake is opened. ``progress`` shows a bar by
        symbol (a lake of many symbols takes minutes).

        Safe while other processes read; appends to the same symbol wait for it.
        """
        syms = normalize_symbols(symbols)
        todo = [(table, sym) for table in TABLES
                for sym in (syms if syms is not None else self._stored_symbols(table))]
        merged = 0
        for table, sym in tqdm(todo, desc="compact", unit="symbol", disable=not progress):
            if not _storable(sym) or not self._symbol_dir(table, sym).exists():
                continue  # nothing stored (and no directory to make for it)
            with self._locked(table, sym):
                for partition in self._partitions(table, sym, TimeRange()):
                    _remove_stale(partition, _TMP)
                    # parts merged away go at once, as compact's own merges' parts do
                    _remove_merged(*_sorted_parts(partition), after=0)
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
                if not _storable(sym) or not self._symbol_dir(table, sym).exists():
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
              end: TimeLike, columns: Sequence[str] | None, *, time_order: bool,
              listed: list[tuple[str, _Part]] | None = None) -> pl.DataFrame:
        """Rows of ``symbols`` in [start, end); ``listed``: the parts, if the caller has
        just listed them (listed again on a retry)."""
        cols = normalize_columns(table, columns)
        syms = normalize_symbols(symbols)
        rng = TimeRange.of(start, end)
        for attempt in range(_READ_RETRIES):
            # parts by symbol name, then date, then write order: so a stable sort by ts alone
            # gives the store's order (ties: symbol, then arrival) without reading symbols
            # for it (42M ticks of 20 symbols: 0.6-0.7 s against 1.1-1.3 s by ts and symbol)
            parts = listed if listed is not None and attempt == 0 else \
                self._parts(table, sorted(syms) if syms else syms, rng)
            if not parts:
                return pl.DataFrame(schema={c: TABLES[table][c] for c in cols})
            need = [c for c in cols if c != "symbol"]
            if time_order and "ts" not in need:
                need.append("ts")
            by_path = "symbol" in cols and len(parts) > 1 and \
                sum(p.rows for _, p in parts) < _SMALL_PART * len(parts)
            if by_path:
                # many small parts: one scan naming each row's file, symbols joined on by
                # path (20,000 symbols x 50 ticks: 1.6 s against 8.9 s as unions below);
                # a path per row costs ~50 ns, a scan per file ~0.4 ms: 8,000 rows' worth
                unions = [pl.scan_parquet([p.path for _, p in parts], glob=False,
                                          include_file_paths=_PATH)
                          .select(*need, _PATH)]
            elif "symbol" in cols:
                # a scan per file, each with its symbol, in unions of at most _UNION scans:
                # Polars plans a union in time that grows faster than its inputs (1,000 scans
                # 0.27 s, 4,000 scans 6.8 s; 20,000 symbols' ticks took 310 s, then 7.6 s)
                scans = [_scan_part(p, sym, need) for sym, p in parts]
                unions = [pl.concat(scans[i:i + _UNION], how="vertical", rechunk=False)
                          for i in range(0, len(scans), _UNION)]
            else:  # one scan of every file, in order (a scan per file cost ~0.2 ms each)
                unions = [pl.scan_parquet([p.path for _, p in parts], glob=False).select(need)]
            if not all(rng.covers(p.first_ns, p.last_ns) for _, p in parts):
                unions = [scan.filter(rng.expr()) for scan in unions]
            try:
                # the in-memory engine: Polars' streaming engine took time quadratic in the
                # number of files unioned (300 files 1.0 s, 1,100 files 25 s; in-memory 0.12 s
                # and 0.3 s), and is no faster on a few large files
                frames = [scan.collect(engine="in-memory") for scan in unions]
                df = frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)
                if by_path:
                    df = _join_by_path(df, _path_symbols(parts), table)
                break
            except FileNotFoundError:
                # a rewrite removed a part between listing and reading: list again
                time.sleep(0.01 * (attempt + 1))
        else:
            raise StoreError(f"{table}: the lake kept changing while being read; try again")
        if time_order and not df.get_column("ts").is_sorted():
            df = df.sort("ts", maintain_order=True)
        return df if df.columns == cols else df.select(cols)

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
        from cift.data.bars import interval_ns, symbol_time_bars, time_bars

        ns = interval_ns(interval)  # a bad interval fails even where there are no ticks
        syms = normalize_symbols(symbols)
        if syms is None or len(syms) > 1:
            rng = TimeRange.of(start, end)
            parts = self._parts("ticks", sorted(syms) if syms else syms, rng)
            rows = sum(p.rows for _, p in parts)
            if rows < _SMALL_PART * len(parts) and rows <= _BARS_AT_ONCE:
                # many small symbols: all read at once (a read per symbol cost ~1 ms:
                # 20,000 symbols' 1-minute bars took 24 s)
                ticks = self._read("ticks", syms, start, end, ["ts", "symbol", "price", "size"],
                                   time_order=False, listed=parts)
                return time_bars(ticks, ns)
        # symbol by symbol: memory for one symbol's ticks at a time, the bar kernel needs no
        # symbol column to code, and each symbol's bars come out in time order
        frames = []
        for sym in syms if syms is not None else self._stored_symbols("ticks"):
            # in file order, a chunk per file: symbol_time_bars takes the chunks as they are,
            # and puts the ticks in time order if they are not
            ticks = self._read("ticks", sym, start, end, ["ts", "price", "size"],
                               time_order=False)
            if ticks.height:
                frames.append(symbol_time_bars(sym, *ticks.get_columns(), ns))
        if not frames:
            return pl.DataFrame(schema=BARS)
        if len(frames) == 1:  # one symbol's bars: already in time order
            return frames[0]
        return pl.concat(frames).sort(["ts", "symbol"], maintain_order=True)

    def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last trade per symbol (symbol, ts, price, size, side), sorted by symbol."""
        syms = normalize_symbols(symbols)
        frames, small = [], []  # small: (symbol, last ts, part) of small last parts
        for sym in syms if syms is not None else self._stored_symbols("ticks"):
            for partition in reversed(self._partitions("ticks", sym, TimeRange())):
                parts = [p for p in _live_parts(partition) if p.rows]
                if parts:
                    last_ns = max(p.last_ns for p in parts)
                    last = [p for p in parts if p.last_ns == last_ns]
                    if sum(p.rows for p in last) < _SMALL_PART:
                        small.extend((sym, last_ns, p) for p in last)
                    else:  # statistics prune every row group but the last one
                        frames.append(pl.scan_parquet([p.path for p in last], glob=False).filter(
                            pl.col("ts") == pl.lit(last_ns, dtype=TICKS["ts"])).last()
                            .with_columns(symbol=pl.lit(sym, pl.String)))
                    break
        schema = {"symbol": TICKS["symbol"], **{k: v for k, v in TICKS.items() if k != "symbol"}}
        # collected 64 at a time: a thousand at once made Polars' streaming engine start a
        # blocking thread per file, to its limit of 512 (a deadlock warning)
        found = [df for i in range(0, len(frames), 64) for df in pl.collect_all(frames[i:i + 64])]
        # one select of them all (a select per one-row frame cost ~70 us: 1.4 ms at 20 symbols)
        found = [pl.concat(found).select(list(schema))] if found else []
        if small:
            # small parts read whole in one scan (a scan per part cost ~0.45 ms: 20,000
            # symbols took 9.5 s), each row joined to its part's symbol and last ts
            last = _path_symbols([(sym, p) for sym, _, p in small]).with_columns(
                last=pl.Series([ns for _, ns, _ in small], dtype=pl.Int64).cast(TICKS["ts"]))
            rows = pl.scan_parquet([p.path for _, _, p in small], glob=False,
                                   include_file_paths=_PATH)
            found.append(_join_by_path(rows.collect(engine="in-memory"), last, "ticks")
                         .filter(pl.col("ts") == pl.col("last"))
                         .group_by("symbol", maintain_order=True).last().select(list(schema)))
        if not found:
            return pl.DataFrame(schema=schema)
        return (found[0] if len(found) == 1 else pl.concat(found)).sort("symbol")

    def catalog(self) -> pl.DataFrame:
        """What is stored, from file names alone: table, symbol, first_ts, last_ts, rows."""
        rows = []
        for table in TABLES:
            for sym in self._stored_symbols(table):
                parts = [p for _, p in self._parts(table, [sym], TimeRange())]
                if parts:
                    rows.append((table, sym, min(p.first_ns for p in parts),
                                 max(p.last_ns for p in parts), sum(p.rows for p in parts)))
        frame = pl.DataFrame(rows, schema={"table": pl.String, "symbol": pl.String,
                                           "first_ts": pl.Int64, "last_ts": pl.Int64,
                                           "rows": pl.Int64}, orient="row")
        return frame.with_columns(pl.col("first_ts", "last_ts").cast(TICKS["ts"]))


def _scan_part(part: _Part, symbol: str | None, columns: list[str]) -> pl.LazyFrame:
    """A lazy scan of one part's ``columns``, with its symbol as a column when given."""
    scan = pl.scan_parquet(part.path, glob=False).select(columns)
    return scan if symbol is None else scan.with_columns(symbol=pl.lit(symbol, pl.String))


def _path_symbols(parts: list[tuple[str, _Part]]) -> pl.DataFrame:
    """Each part's path (as a scan names it) and its symbol, to join on rows read by path."""
    return pl.DataFrame({_PATH: [str(p.path) for _, p in parts],
                         "symbol": [sym for sym, _ in parts]},
                        schema={_PATH: pl.String, "symbol": pl.String})


def _join_by_path(rows: pl.DataFrame, parts: pl.DataFrame, table: str) -> pl.DataFrame:
    """Rows read by path with their part's columns (its symbol...) joined on in their order."""
    out = rows.join(parts, on=_PATH, how="left", maintain_order="left").drop(_PATH)
    if out.get_column("symbol").null_count():  # Polars named a file otherwise than cift
        raise StoreError(f"{table}: a part read by path came back under another name; "
                         f"please report this")
    return out


def _remove_stale(folder: Path, prefix: str) -> None:
    """Remove what writers killed mid-write left in ``folder`` (named ``prefix``..., untouched
    for ``_STALE_S``): a kernel restarted during an ingest leaves its staged parts, as large
    as the batch, hidden from every listing. Best effort: a read-only lake keeps them."""
    cutoff = time.time() - _STALE_S
    try:
        for e in os.scandir(folder):
            if e.name.startswith(prefix) and e.stat(follow_symlinks=False).st_mtime < cutoff:
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
    except OSError:
        pass


def _remove_merged(live: list[_Part], covered: list[_Part], after: float | None = None
                   ) -> None:
    """Remove the ``covered`` parts of a partition (those a write's merge took in) once
    their merge is ``after`` seconds old (default ``_MERGED_S``), or is not among the latest
    that took in ``_KEEP_MERGED`` parts: a reader in another process that listed them just
    before keeps reading them, rather than start its read over (many symbols written every
    second merge several times a second between them, and a read of them all would keep
    starting over); a burst of writes does not leave thousands of them to list."""
    if not covered:
        return
    cutoff = time.time() - (_MERGED_S if after is None else after)
    starts = [p.lo for p in live]
    taken_in: dict[str, list[_Part]] = {}  # merged part -> the parts it took in
    for p in covered:
        taken_in.setdefault(live[bisect.bisect_right(starts, p.lo) - 1].path, []).append(p)
    merged_at = {}
    for path in taken_in:
        try:
            merged_at[path] = os.stat(path).st_mtime
        except FileNotFoundError:
            merged_at[path] = 0.0
    kept = 0
    for path in sorted(taken_in, key=merged_at.__getitem__, reverse=True):
        parts = taken_in[path]
        if merged_at[path] >= cutoff and kept + len(parts) <= _KEEP_MERGED:
            kept += len(parts)
            continue
        for p in parts:
            with suppress(FileNotFoundError):
                os.unlink(p.path)


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
