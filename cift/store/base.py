"""The Store interface every backend serves, and the argument rules they all share.

The embedded lake implements it now; PostgreSQL and QuestDB adapters implement the same
methods, so a notebook moves between them by changing one URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, Self

import polars as pl
from tqdm.auto import tqdm

from cift.data.bars import time_bars
from cift.data.codes import enums_as_text
from cift.data.importer import ImportOptions, expand_paths, is_large_file, read_market_file
from cift.data.schema import TABLES, TS
from cift.data.timestamps import TimeLike, to_utc_ns
from cift.data.validate import validate_frame
from cift.errors import CiftError, ParameterError
from cift.store.spill import large_file_writes

__all__ = ["Store", "TimeRange", "Trade", "WriteResult", "checked_frame", "normalize_columns",
           "normalize_symbols", "rows_frame", "symbol_groups"]

#: A single file from this size on gets a progress bar of its own (10M ticks: ~570 MB of CSV,
#: a few seconds).
LARGE_IMPORT_BYTES = 64 << 20


class Trade(NamedTuple):
    """One trade, as the hot paths pass it around (no frame): ts in UTC epoch nanoseconds."""

    symbol: str
    ts: int
    price: float
    size: float
    side: int

    @classmethod
    def last_of(cls, latest: pl.DataFrame) -> Trade | None:
        """The first row of a :meth:`Store.latest` frame as a Trade (None if empty)."""
        if latest.height == 0:
            return None
        row = latest.with_columns(pl.col("ts").dt.epoch("ns")).row(0, named=True)
        return cls(row["symbol"], row["ts"], row["price"], row["size"], row["side"])


@dataclass(frozen=True)
class WriteResult:
    """What a write did: rows stored, and rows skipped because that batch was already stored."""

    rows: int
    skipped_rows: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(self.rows + other.rows, self.skipped_rows + other.skipped_rows)


@dataclass(frozen=True)
class TimeRange:
    """A half-open interval [start, end) in UTC epoch nanoseconds; None means unbounded."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def of(cls, start: TimeLike = None, end: TimeLike = None) -> TimeRange:
        """Build from anything :func:`cift.data.timestamps.to_utc_ns` accepts."""
        lo, hi = to_utc_ns(start, name="start"), to_utc_ns(end, name="end")
        if lo is not None and hi is not None and hi < lo:
            raise ParameterError(f"end ({end}) is before start ({start})")
        return cls(lo, hi)

    def overlaps(self, first_ns: int, last_ns: int) -> bool:
        """Whether a closed span [first_ns, last_ns] has any instant in this range."""
        return (self.start is None or last_ns >= self.start) and (
            self.end is None or first_ns < self.end
        )

    def covers(self, first_ns: int, last_ns: int) -> bool:
        """Whether a closed span [first_ns, last_ns] lies wholly inside this range."""
        return (self.start is None or first_ns >= self.start) and (
            self.end is None or last_ns < self.end
        )

    def expr(self, column: str = "ts") -> pl.Expr | None:
        """A Polars filter for this range (None when unbounded)."""
        # typed literals (not dt.epoch) so the predicate reaches Parquet statistics
        conds = []
        if self.start is not None:
            conds.append(pl.col(column) >= pl.lit(self.start, dtype=TS))
        if self.end is not None:
            conds.append(pl.col(column) < pl.lit(self.end, dtype=TS))
        return pl.all_horizontal(conds) if conds else None


_FEW_ROWS = 64  # rows_frame builds fewer row-wise


def rows_frame(rows: Sequence, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Fetched rows (asyncpg Records, tuples) as a frame, built column by column: one C-level
    pass per column (``map`` of an ``itemgetter``), then one typed Series each. 1M Records of
    5 fields: 0.56-0.68 s, where Polars' row-wise construction took 2.1-2.7 s and
    ``zip(*rows)``, which makes an iterator per row, 1.2-1.5 s. A few rows (a latest price)
    go row-wise: 22 us for one row against 49 us a Series per column (even at ~100 rows).
    Raises ValueError on a row of another width."""
    if set(map(len, rows)) - {len(schema)}:
        raise ValueError(f"rows of {sorted(set(map(len, rows)))} fields, expected {len(schema)}")
    if 0 < len(rows) < _FEW_ROWS:
        return pl.DataFrame(rows, schema=schema, orient="row")
    return pl.DataFrame([pl.Series(name, list(map(itemgetter(j), rows)), dtype)
                         for j, (name, dtype) in enumerate(schema.items())])


def checked_frame(table: str, df: pl.DataFrame, *, source: str = "frame",
                  validated: bool = False) -> pl.DataFrame:
    """A frame to write into ``table``, validated unless the caller already did."""
    if table not in TABLES:
        raise ParameterError(f"table: expected one of {list(TABLES)}, got {table!r}")
    return df if validated else validate_frame(df, table, source=source)


_BATCH_ROWS = 1_000_000  # rows of small files written together by Store.ingest


def symbol_groups(symbols: Iterable[str], rows: Mapping[str, int],
                  limit: int) -> Iterator[list[str]]:
    """``symbols`` in order, in runs of at most ``limit`` rows together (by ``rows``, e.g. a
    catalog's counts); a symbol of more rows comes alone. For reads and writes of many small
    symbols, where one call per symbol costs more than its rows."""
    group: list[str] = []
    total = 0
    for sym in symbols:
        n = rows.get(sym, 0)
        if group and total + n > limit:
            yield group
            group, total = [], 0
        group.append(sym)
        total += n
    if group:
        yield group


class _PendingFiles:
    """Validated files of one table waiting to be written in one batch (Store.ingest): at
    most _BATCH_ROWS rows, and no (symbol, UTC day) in two of them, so each (symbol, day)
    chunk is one file's rows, as it would be written alone, and ingesting one of the files
    again finds its chunks."""

    def __init__(self) -> None:
        self.table: str | None = None
        self.paths: list[Path] = []
        self.frames: list[pl.DataFrame] = []
        self.days: set[tuple] = set()
        self.rows = 0

    def add(self, path: Path, table: str, df: pl.DataFrame) -> bool:
        """Take the file if it fits (same table, room, no (symbol, day) of another);
        returns whether it did (if not, write this batch and start another with it)."""
        days = set(df.select("symbol", pl.col("ts").dt.epoch("d")).unique().iter_rows()) \
            if df.height < _BATCH_ROWS else None  # (a file that fills a batch goes alone)
        if self.frames and (table != self.table or days is None
                            or self.rows + df.height > _BATCH_ROWS
                            or not self.days.isdisjoint(days)):
            return False
        self.table = table
        self.paths.append(path)
        self.frames.append(df)
        self.days |= days or set()
        self.rows += df.height
        return True

    def write(self, store: Store) -> WriteResult:
        """Write the batch into ``store``."""
        first, more = self.paths[0], len(self.paths) - 1
        source = str(first) if not more else f"{first} (+{more} more files)"
        # (each file's symbols may be an Enum of its own: as text)
        df = self.frames[0] if not more else pl.concat(enums_as_text(f) for f in self.frames)
        return store.write(self.table, df, source=source, validated=True)


def normalize_symbols(symbols: str | Iterable[str] | None) -> list[str] | None:
    """One symbol or many -> a list without duplicates (None stays None: all symbols)."""
    if symbols is None:
        return None
    if isinstance(symbols, str):
        symbols = [symbols]
    try:
        out = list(dict.fromkeys(symbols))
    except TypeError:
        raise ParameterError(
            f"symbols: expected a name or a list of names, got {type(symbols).__name__}"
        ) from None
    for s in out:
        if not isinstance(s, str) or not s:
            raise ParameterError(f"symbols: every symbol must be a non-empty string, got {s!r}")
    return out


def normalize_columns(table: str, columns: Sequence[str] | None) -> list[str]:
    """Requested columns of a table, checked against its schema (None -> all)."""
    schema = TABLES[table]
    if columns is None:
        return list(schema)
    if isinstance(columns, str):
        columns = [columns]
    unknown = [c for c in columns if c not in schema]
    if unknown:
        raise ParameterError(f"columns: {unknown} not in {table} (has {list(schema)})")
    return list(dict.fromkeys(columns))


class Store(ABC):
    """Market data storage behind one interface (sync; for notebooks and scripts).

    Frames follow the data model in :mod:`cift.data.schema`. ``start``/``end`` accept
    datetimes, dates and ISO strings and select the half-open range [start, end).
    ``symbols`` takes one name or a list; symbols are free text.
    """

    url: str

    # -- writes -------------------------------------------------------------------------
    @abstractmethod
    def write_ticks(self, df: pl.DataFrame) -> WriteResult:
        """Validate and store trades (ts, symbol, price, size, side); idempotent per batch."""

    @abstractmethod
    def write_quotes(self, df: pl.DataFrame) -> WriteResult:
        """Validate and store L1 quotes (ts, symbol, bid_px, bid_sz, ask_px, ask_sz)."""

    def write(self, table: str, df: pl.DataFrame, *, source: str = "frame",
              validated: bool = False) -> WriteResult:
        """Store rows of ``table`` ("ticks" or "quotes"); see :meth:`write_ticks`."""
        if table not in TABLES:
            raise ParameterError(f"table: expected one of {list(TABLES)}, got {table!r}")
        return self.write_ticks(df) if table == "ticks" else self.write_quotes(df)

    def ingest(self, paths: str | Path | Iterable[str | Path], *, progress: bool = False,
               **options: object) -> WriteResult:
        """Import CSV/Parquet files (or directories of them) of ticks or quotes.

        Each file is read and validated whole before any of it is written, so a bad file
        changes nothing; files before it stay ingested, and ingesting again skips them.
        A file too large to hold in memory (over 1 GiB of CSV, 20M rows of Parquet) is
        validated in pieces that wait on disk (under ``TMPDIR``), then written in groups of
        whole (symbol, UTC day) chunks (:mod:`cift.store.spill`); the same chunks as a
        whole read, so either way a file ingested again is skipped (2 GB of CSV: 7.2 GB of
        memory at the peak read whole, 1.3 GB in pieces, and no slower). Small files (a file
        per symbol, or per day) are written together, up to a million rows a write, unless
        they share a (symbol, UTC day): a write per file cost more than reading it (1,000
        files of 400 rows: 9.0 s one by one, 3.1 s together).

        Parameters
        ----------
        paths : path or list of paths
        progress : bool
            Show a progress bar (by bytes, with the file and its stage: reading, writing)
            when there are several files or a large one.
        **options
            :class:`cift.data.importer.ImportOptions` fields: table, columns, symbol,
            ts_unit, tz, ts_format, day_first, separator, header, decimal_comma,
            buyer_maker.
        """
        files = expand_paths([paths] if isinstance(paths, (str, Path)) else paths)
        if not files:
            raise ParameterError("paths: no CSV or Parquet files found")
        opts = ImportOptions(**options)  # type: ignore[arg-type]
        total = WriteResult(0)
        sizes = [p.stat().st_size if p.is_file() else 0 for p in files]
        quiet = not progress or (len(files) < 2 and sum(sizes) < LARGE_IMPORT_BYTES)
        pending = _PendingFiles()
        with tqdm(total=sum(sizes), desc="ingest", unit="B", unit_scale=True,
                  disable=quiet) as bar:

            def flush() -> WriteResult:
                nonlocal pending
                if not pending.frames:
                    return WriteResult(0)
                bar.set_postfix_str(f"{pending.paths[-1].name}: writing {pending.rows:,} "
                                    f"{pending.table} of {len(pending.paths)} file(s)")
                result, pending = pending.write(self), _PendingFiles()
                return result

            for path, size in zip(files, sizes, strict=True):
                bar.set_postfix_str(f"{path.name}: reading")
                if is_large_file(path):
                    total += flush()
                    total += self._ingest_large_file(path, opts, bar, size)
                    continue
                try:
                    # (symbols as the reader coded them, if it did: Batch.of takes codes)
                    table, df = read_market_file(path, opts, enum_symbols=True)
                except CiftError:
                    total += flush()  # the files before it stay ingested
                    raise
                if not pending.add(path, table, df):
                    total += flush()
                    pending.add(path, table, df)
                bar.update(size)
            total += flush()
        return total

    def _ingest_large_file(self, path: Path, options: ImportOptions, bar: tqdm,
                           size: int) -> WriteResult:
        """A file too large to read whole: validated in pieces, then written in groups of
        whole (symbol, day) chunks (:mod:`cift.store.spill`)."""
        total, shown = WriteResult(0), 0

        def progress(done: float, stage: str) -> None:
            nonlocal shown
            bar.update(int(done * size) - shown)
            shown = int(done * size)
            bar.set_postfix_str(f"{path.name}: {stage}")

        for table, frame in large_file_writes(path, options, on_progress=progress):
            total += self.write(table, frame, source=str(path), validated=True)
        bar.update(size - shown)
        return total

    @abstractmethod
    def delete(self, symbols: str | Iterable[str], start: TimeLike = None,
               end: TimeLike = None) -> int:
        """Delete ticks and quotes of ``symbols`` in [start, end); returns rows deleted."""

    # -- reads --------------------------------------------------------------------------
    @abstractmethod
    def ticks(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
              end: TimeLike = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Trades in [start, end), ordered by ts (ties: symbol, then arrival order)."""

    @abstractmethod
    def quotes(self, symbols: str | Iterable[str] | None = None, start: TimeLike = None,
               end: TimeLike = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """L1 quotes in [start, end), ordered like :meth:`ticks`."""

    @abstractmethod
    def latest(self, symbols: str | Iterable[str] | None = None) -> pl.DataFrame:
        """The last trade per symbol: symbol, ts, price, size, side (sorted by symbol)."""

    def latest_trade(self, symbol: str) -> Trade | None:
        """The last trade of one symbol as a :class:`Trade` (None if it has none).

        The hot path of live code: no frame is built where the backend can avoid it.
        """
        return Trade.last_of(self.latest(symbol))

    @abstractmethod
    def catalog(self) -> pl.DataFrame:
        """What is stored: table, symbol, first_ts, last_ts, rows."""

    def symbols(self) -> list[str]:
        """Every symbol with stored ticks or quotes, sorted."""
        return sorted(set(self.catalog().get_column("symbol").to_list()))

    def bars(self, symbols: str | Iterable[str] | None, interval: str,
             start: TimeLike = None, end: TimeLike = None) -> pl.DataFrame:
        """Time bars from stored ticks: ts (bar open), symbol, OHLC, volume, vwap, trades.

        Parameters
        ----------
        interval : str
            A fixed duration: "100ms", "1s", "5m", "1h", "1d" (bars align to UTC midnight).
        """
        ticks = self.ticks(symbols, start, end, columns=["ts", "symbol", "price", "size"])
        return time_bars(ticks, interval)

    def close(self) -> None:
        """Release connections and files (nothing to do for the embedded lake)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
