"""Import CSV and Parquet files of ticks or quotes into the data model.

CSV files may come compressed (``.csv.gz``, ``.bz2``, ``.zst``, ``.lz4``, or a ``.zip`` of
one CSV file, as vendors and exchanges ship them): they are decompressed as they are read.
Plain CSV text (most tick files: see :mod:`cift.data.plaincsv`) is parsed by cift's own
reader; anything else by Arrow's, which gives the same frame for what both read.

A file is read whole, mapped to cift's column names, and validated before anything is written,
so a bad file leaves the store exactly as it was; a file too large for that is read and
validated in pieces (:func:`read_market_pieces`). Errors name the file, the row (1-based, data
rows after the header) and the field.
"""

from __future__ import annotations

import csv
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, NamedTuple

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from cift.data.codes import enums_as_text, has_padding
from cift.data.plaincsv import read_plain_csv
from cift.data.schema import TABLES
from cift.data.timestamps import RepeatedTimeError, day_month_order
from cift.data.validate import validate_frame
from cift.errors import DataError, ParameterError

__all__ = ["ImportOptions", "Piece", "expand_paths", "is_large_file", "parse_column_map",
           "read_market_file", "read_market_pieces"]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
# CSV compressions Arrow decompresses as it reads, known by the last suffix (vendors ship
# tick files as .csv.gz)
_COMPRESSED_SUFFIXES = {".gz", ".bz2", ".zst", ".lz4"}
# a .zip holding one CSV file, as Binance's and HistData's downloads come
_ZIP = ".zip"
# what a file that cannot be read at all raises (a truncated download, a corrupt archive)
_UNREADABLE = (OSError, pa.ArrowException, zipfile.BadZipFile)
_SEPARATORS = (",", ";", "\t", "|")  # what _separator counts; ties go to the first

#: Files from these sizes on are read in pieces (:func:`read_market_pieces`): reading a CSV
#: file whole took ~4.4x its size in memory at its peak (500 MB of ticks: 2.2 GB).
LARGE_CSV_BYTES = 1 << 30
LARGE_PARQUET_ROWS = 20_000_000
PIECE_BYTES = 64 << 20
PIECE_ROWS = 4_000_000
_COMPRESSION_RATIO = 5  # tick CSV compresses 4-8x: a compressed file's text is taken as 5x


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file.

    Parameters
    ----------
    table : {"ticks", "quotes"}, optional
        Inferred from the columns when omitted (bid/ask columns mean quotes).
    columns : mapping, optional
        cift column name -> the file's column name, e.g. ``{"ts": "time", "price": "px"}``;
        files that already use cift's name for a column are read as they are. ``ts`` may
        name a date and a time column joined by ``+`` (``{"ts": "Date+Time"}``): their
        texts, joined by a space, are the timestamp (``ts_format`` then reads the pair, e.g.
        ``"%Y%m%d %H%M%S"`` for ``20240102,093000``).
    symbol : str, optional
        The symbol of every row, for files without a symbol column (one file per symbol).
    ts_unit : {"s", "ms", "us", "ns"}, optional
        Unit of epoch timestamps; inferred from magnitude when omitted.
    tz : str, optional
        Time zone of naive timestamps (default UTC), e.g. "America/New_York".
    ts_format : str, optional
        strftime layout of text timestamps, e.g. ``"%m/%d/%Y %H:%M:%S"``; default: ISO 8601,
        epoch digits, or day/month/year vs month/day/year as the values prove (see
        :func:`cift.data.timestamps.parse_ts_column`).
    day_first : bool, optional
        Dates written with ``/`` or ``.`` are day/month/year (True) or month/day/year
        (False); default: as the values prove (a file whose dates are all ambiguous, such
        as one day's 03/01/2024, is refused until told). A large file read in pieces keeps
        the order its first proving piece shows.
    separator : str, optional
        CSV field separator, one character. Default: tab for .tsv files, else whichever of
        ``,`` ``;`` tab ``|`` the header line has most of (a comma when it has none).
    header : bool
        Whether a CSV file's first line names its columns (default). Without one (as
        exchanges' bulk downloads often come) the columns are ``column_1``, ``column_2``...
        by position, for the column map to name: ``{"ts": "column_5", "price": "column_2"}``.
    decimal_comma : bool
        Whether a CSV file's numbers use a decimal comma (``185,30``), as European exports
        do (with ``;`` between fields, or the numbers quoted).
    buyer_maker : bool
        Whether a ticks file's side column is a buyer-is-maker flag, as Binance's trade
        files have it (``is_buyer_maker``): true where the buyer's order rested in the book,
        so the seller hit it (side -1), false where the buyer took the offer (+1). The flag
        is the column ``is_buyer_maker`` (Binance's header name) or the one mapped to
        ``side``; ``true``/``false`` as text and 1/0 are read too.
    """

    table: str | None = None
    columns: Mapping[str, str] | None = None
    symbol: str | None = None
    ts_unit: str | None = None
    tz: str | None = None
    ts_format: str | None = None
    day_first: bool | None = None
    separator: str | None = None
    header: bool = True
    decimal_comma: bool = False
    buyer_maker: bool = False

    def __post_init__(self) -> None:
        sep = self.separator
        if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n"):
            raise ParameterError(f"separator: expected one character other than a quote or a "
                                 f"line break, got {sep!r}")
        # switches taken as truthy would read a file otherwise than asked ("no" is true)
        for name in ("header", "decimal_comma", "day_first", "buyer_maker"):
            value = getattr(self, name)
            if not (isinstance(value, bool) or (value is None and name == "day_first")):
                raise ParameterError(f"{name}: expected True or False, got {value!r}")

    def file_column(self, ours: str) -> str:
        """The file's name for cift's column ``ours``: the column map's, else the same."""
        return (self.columns or {}).get(ours, ours)


def parse_column_map(text: str | None) -> dict[str, str]:
    """Parse ``"ts=time,price=px"`` (cift name = file column) into a dict."""
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise ParameterError(f"column map: {item!r} is not NAME=COLUMN (e.g. ts=time)")
        out[ours.strip()] = theirs.strip()
    return out


def _kind_by_name(path: Path) -> str | None:
    """"parquet" or "csv" by the file's last suffixes (``.csv.gz`` is CSV), else None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == _ZIP:
        return "csv"
    if suffixes and suffixes[-1] in _COMPRESSED_SUFFIXES:
        return "csv" if len(suffixes) > 1 and suffixes[-2] in _CSV_SUFFIXES else None
    last = suffixes[-1] if suffixes else ""
    return "parquet" if last in _PARQUET_SUFFIXES else "csv" if last in _CSV_SUFFIXES else None


def _file_kind(path: Path) -> str:
    """"parquet" or "csv", by the file's suffixes."""
    kind = _kind_by_name(path)
    if kind is None:
        raise DataError("unknown file type; expected .csv, .tsv or .txt (optionally compressed: "
                        ".gz, .bz2, .zst, .lz4), a .zip of one such file, or .parquet",
                        source=str(path))
    return kind


def _compressed(path: Path) -> bool:
    return path.suffix.lower() in _COMPRESSED_SUFFIXES or path.suffix.lower() == _ZIP


def _zip_member(path: Path) -> zipfile.ZipInfo:
    """The one file a .zip of CSV holds (macOS's ``__MACOSX/`` copies and folders aside),
    or its one .csv/.tsv file (HistData's come with a .txt report)."""
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()
                   and not any(part.startswith((".", "__MACOSX"))
                               for part in m.filename.split("/"))]
    tables = [m for m in members if Path(m.filename).suffix.lower() in (".csv", ".tsv")]
    if len(tables) == 1:
        return tables[0]
    if len(members) != 1:
        names = [m.filename for m in members][:5]
        raise DataError(f"a .zip must hold one CSV file; this one holds {len(members)}"
                        + (f" ({names}...)" if members else "") + ": unpack it",
                        source=str(path))
    return members[0]


@contextmanager
def _csv_stream(path: Path) -> Iterator[tuple[IO[bytes], Callable[[], float]]]:
    """A CSV file's text as a stream, decompressed by its suffix as it is read (a .zip: its
    one file), with a function giving the share of the file read so far."""
    if path.suffix.lower() == _ZIP:
        member = _zip_member(path)
        with zipfile.ZipFile(path) as archive, archive.open(member) as text:
            yield text, lambda: min(text.tell() / max(member.file_size, 1), 1.0)
        return
    size = max(path.stat().st_size, 1)
    with pa.OSFile(str(path)) as raw:
        yield ((pa.CompressedInputStream(raw, pa.Codec.detect(str(path)).name)
                if _compressed(path) else raw), lambda: min(raw.tell() / size, 1.0))


def _csv_text(path: Path) -> bytes:
    """A compressed CSV file's whole text."""
    with _csv_stream(path) as (text, _):
        return text.read()


def _read_raw(path: Path | bytes, separator: str | None, options: ImportOptions,
              keep: list[str] | None = None, *, as_text: bool) -> pl.DataFrame:
    """The file (or a piece of CSV text) as it is: Parquet when ``separator`` is None, else
    CSV; typed, only the columns ``keep`` (None: all; see :func:`_wanted`)."""
    if separator is None:
        return pl.read_parquet(path, glob=False, columns=keep)
    if as_text:
        # (Polars reads gzip and zstd, not bz2 or lz4: a compressed file comes decompressed)
        source = _csv_text(path) if isinstance(path, Path) and _compressed(path) else path
        # (without a header, Polars names the columns column_1, column_2...)
        df = pl.read_csv(source, separator=separator, infer_schema=False,
                         has_header=options.header)
        if options.decimal_comma:  # every column is text here: numbers get their point
            df = df.with_columns(pl.exclude(options.file_column("symbol"))
                                 .str.replace(",", ".", literal=True))
        return _trimmed_symbols(df, options)
    ts_parts = _ts_parts(options.file_column("ts"))
    if ((isinstance(path, bytes) or not (_compressed(path) or path.suffix.lower() == _ZIP))
            and options.header and not options.decimal_comma and not ts_parts):
        # a plain file (most are) is read by cift's own parser (10M ticks: 0.6 s, with
        # Arrow's reader and its frame 0.95-1.1), else it says None
        df = read_plain_csv(path, separator, keep, options.file_column("symbol"))
        if df is not None:
            return df
    # Arrow's reader parses ISO timestamps while it reads, on all cores: 2-4x faster end to
    # end than reading text and parsing after. Symbols stay text even when they look like
    # numbers (0700, 1301).
    as_string = [options.file_column("symbol"), *ts_parts]
    if not options.header:  # Arrow names them f0, f1...: the Polars names, 1-based, after
        as_string = [f"f{int(name[7:]) - 1}" for name in as_string
                     if re.fullmatch(r"column_[1-9]\d*", name)]
    # (Arrow names a headerless file's columns f0, f1...)
    include = keep if keep is None or options.header else [f"f{int(n[7:]) - 1}" for n in keep]
    with ExitStack() as opened:
        if isinstance(path, bytes):
            source = pa.BufferReader(path)
        elif path.suffix.lower() == _ZIP:  # (parsed as it inflates: 5M ticks 1.6 s, not 2.5)
            source = opened.enter_context(_csv_stream(path))[0]
        else:  # (Arrow opens the other compressions itself)
            source = path
        table = pa_csv.read_csv(
            source,
            # the C library's malloc: pages of 4 KB, where Arrow's default (mimalloc) asks for
            # huge pages, slow to fault in when fresh (see cift/data/pages.py): 10M ticks
            # imported in 1.71-1.77 s instead of 2.0-2.05 (best of 5, one process each)
            memory_pool=pa.system_memory_pool(),
            parse_options=pa_csv.ParseOptions(delimiter=separator),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=not options.header),
            # only an empty field is missing; "NaN" is a float the validator rejects by name;
            # a date and a time read apart stay text (093000 must keep its zero)
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(as_string, pa.string()), null_values=[""],
                decimal_point="," if options.decimal_comma else ".",
                include_columns=include))
    # one chunk per column: Arrow reads in blocks (hundreds of chunks at 10M rows), and every
    # later step (validation, partitioning, writing) runs slower over them
    df = pl.from_arrow(table).rechunk()
    if not options.header:  # (f4 -> column_5)
        df.columns = [f"column_{int(name[1:]) + 1}" for name in df.columns]
    return _trimmed_symbols(df, options)


def _wanted(names: list[str] | None, options: ImportOptions) -> list[str] | None:
    """Of a file's columns ``names`` (a CSV without a header: column_1, column_2...; None:
    not known), those
    cift reads, in the file's order; None: all of them. Vendors' files carry many more
    (Polygon's trades have 13, cift reads 4 or 5): parsing only these took 1.0 s, not 1.9,
    for 5M of Polygon's rows as CSV, and a column cift does not read cannot fail the typed
    read."""
    wanted = {"is_buyer_maker"}  # (read for buyer_maker, or said to be there without it)
    for ours in _CIFT_COLUMNS:
        theirs = options.file_column(ours)
        wanted.update([ours, theirs, *_ts_parts(theirs)])
    keep = [name for name in names or [] if name in wanted]
    if not names or len(set(names)) != len(names) or len(keep) == len(names):
        return None
    try:  # the map and the table as the read file will be checked
        header = pl.DataFrame(schema=dict.fromkeys(keep, pl.String))
        _table_of(_map_columns(header, options, ""), options, "")
    except DataError:  # all of them, then: the error lists every column the file has
        return None  # (a map naming px where the file has px_usd)
    return keep


def _parquet_names(path: Path) -> list[str] | None:
    try:
        return pl.scan_parquet(path, glob=False).collect_schema().names()
    except (OSError, pl.exceptions.PolarsError):
        return None  # (reading the file names what is wrong)


def _trimmed_symbols(df: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    """A CSV's symbols without the spaces around them (``a, b`` separators, fixed-width
    padding): ``" A"`` and ``"A   "`` would be symbols of their own. Checked first (~4 ns a
    row), rewritten only where some are padded."""
    name = options.file_column("symbol")
    if name not in df.columns or df.schema[name] != pl.String:
        return df
    col = df.get_column(name)
    if not has_padding(col):
        return df
    return df.with_columns(col.str.strip_chars(" "))


def _separator(path: Path, options: ImportOptions, header: bytes) -> str:
    """The option's; else tab for .tsv; else the one the header line uses most (or a comma)."""
    if options.separator is not None:
        return options.separator
    if ".tsv" in (s.lower() for s in path.suffixes):
        return "\t"
    counts = {sep: header.count(sep.encode()) for sep in _SEPARATORS}
    return max(_SEPARATORS, key=counts.__getitem__) if any(counts.values()) else ","


def _first_line(path: Path) -> bytes:
    """A CSV file's first line (decompressed by its suffix, as the reader will)."""
    with _csv_stream(path) as (text, _):
        return text.read(1 << 16).split(b"\n", 1)[0]


def _csv_names(header: bytes, sep: str) -> list[str]:
    """The column names of a CSV header line."""
    line = header.decode("utf-8-sig", "replace").rstrip("\r")
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:  # (reading the file names what is wrong)
        return []


_CIFT_COLUMNS = list(dict.fromkeys(c for schema in TABLES.values() for c in schema))


def _loose_names(names: list[str] | None, options: ImportOptions) -> ImportOptions:
    """The options with a column-map entry for each of cift's columns the file ``names`` in
    another case or with spaces around (``Price``, ``TS``, `` size``), where the file has no
    exact one and one column alone fits. Read off the header before the file, so the reader
    keeps such a symbol column as text."""
    if not names:
        return options
    mapping = dict(options.columns or {})
    taken = {part for theirs in mapping.values() for part in [theirs, *_ts_parts(theirs)]}
    for ours in _CIFT_COLUMNS:
        if ours in mapping or ours in names or (ours == "symbol" and options.symbol):
            continue  # (the symbol option names every row's symbol: a column is not asked)
        fits = [n for n in names if n.strip().lower() == ours and n not in taken]
        if len(fits) == 1:
            mapping[ours] = fits[0]
    return options if mapping == dict(options.columns or {}) else replace(options,
                                                                         columns=mapping)


def _ts_parts(name: str) -> list[str]:
    """The date and time columns a ``ts`` entry like ``"Date+Time"`` joins (else none)."""
    parts = [part.strip() for part in name.split("+")]
    return parts if len(parts) > 1 and all(parts) else []


def _joined_ts(df: pl.DataFrame, name: str, source: str) -> pl.DataFrame:
    """``ts`` as the texts of the columns ``name`` joins (``"Date+Time"``), space-separated."""
    parts = _ts_parts(name)
    missing = [part for part in parts if part not in df.columns]
    if missing:
        raise DataError(f"column(s) {missing} of ts={name!r} are not in the file (it has "
                        f"{df.columns})", source=source, field="ts")
    texts = [pl.col(part).dt.to_string("%H:%M:%S%.f") if df.schema[part] == pl.Time
             else pl.col(part).cast(pl.String)  # (a Time's cast drops its fraction)
             for part in parts]
    joined = pl.concat_str(texts, separator=" ")
    return df.with_columns(joined.alias("ts")).drop([p for p in parts if p != "ts"])


def _map_columns(df: pl.DataFrame, options: ImportOptions, source: str) -> pl.DataFrame:
    # an entry applies where its column is present; a file that already uses cift's name
    # is fine too (one map for a directory of mixed files)
    mapping = dict(options.columns or {})
    if _ts_parts(mapping.get("ts", "ts")) and mapping["ts"] not in df.columns:
        df = _joined_ts(df, mapping.pop("ts"), source)  # (a column named "a+b" is just that)
    missing = [theirs for ours, theirs in mapping.items()
               if theirs not in df.columns and ours not in df.columns]
    if missing:
        raise DataError(f"column(s) {missing} named in the column map are not in the file "
                        f"(it has {df.columns})", source=source, field=missing[0])
    df = df.rename({theirs: ours for ours, theirs in mapping.items() if theirs in df.columns})
    if options.symbol is not None:
        if "symbol" in df.columns:
            raise DataError("the file has a symbol column; drop --symbol or map it away",
                            source=source, field="symbol")
        df = df.with_columns(symbol=pl.lit(options.symbol, pl.String))
    return df


def _table_of(df: pl.DataFrame, options: ImportOptions, source: str) -> str:
    if options.table is not None:
        if options.table not in TABLES:
            raise ParameterError(f"table: expected one of {list(TABLES)}, got {options.table!r}")
        return options.table
    if {"bid_px", "ask_px"} <= set(df.columns):
        return "quotes"
    if "price" in df.columns:
        return "ticks"
    raise DataError(f"cannot tell ticks from quotes by the columns {df.columns}; "
                    "name the table or map the columns", source=source)


def read_market_file(path: str | Path, options: ImportOptions | None = None, *,
                     enum_symbols: bool = False) -> tuple[str, pl.DataFrame]:
    """Read one CSV or Parquet file of ticks or quotes, validated.

    A ticks file without a ``side`` column gets side 0 (unknown; see
    :func:`cift.data.bars.apply_tick_rule`). A quotes file with prices and no sizes (forex
    feeds) gets sizes 0, unknown: features weighted by size (microprice, quote imbalance)
    are NaN on them.

    Returns
    -------
    (table, frame)
        The table name and the frame in that table's exact schema; with ``enum_symbols``,
        the symbol column may instead be a ``pl.Enum`` of the file's symbols, as cift's CSV
        reader codes them (for a store, which codes them anyway: see
        :func:`cift.data.validate.validate_frame`).

    Raises
    ------
    DataError
        Naming file, row and field for any bad value (see :func:`validate_frame`).
    """
    options = options or ImportOptions()
    path = Path(path)
    sep, options, keep = _open(path, options)
    table, df, _ = _validated(_read_any(path, sep, options, keep, str(path)), options,
                              str(path), enum_symbols=enum_symbols)
    return table, df


class Piece(NamedTuple):
    """A validated piece of a file (:func:`read_market_pieces`)."""

    table: str
    frame: pl.DataFrame
    done: float  #: the share of the file read so far, 0 to 1


def read_market_pieces(path: str | Path, options: ImportOptions | None = None, *,
                       piece_bytes: int | None = None, piece_rows: int | None = None
                       ) -> Iterator[Piece]:
    """Read a file too large to hold whole in pieces, each validated as
    :func:`read_market_file` validates a file: CSV in pieces of about ``piece_bytes`` of text
    (default :data:`PIECE_BYTES`; whole lines; compressed files are decompressed as they are
    read), Parquet in pieces of ``piece_rows`` rows (default :data:`PIECE_ROWS`). Errors name
    the row in the whole file; every piece has the first one's table.

    A piece of CSV takes ~10x its text in memory at its peak (64 MB: ~0.65 GB), whatever
    the file's size.
    """
    piece_bytes, piece_rows = piece_bytes or PIECE_BYTES, piece_rows or PIECE_ROWS
    options = options or ImportOptions()
    path = Path(path)
    source = str(path)
    sep, options, keep = _open(path, options)
    rows = 0
    try:
        texts = (_csv_pieces(path, sep is not None and options.header, piece_bytes)
                 if sep is not None else _parquet_pieces(path, piece_rows, keep))
        # a piece ending in an hour the clocks repeated is read again with the next one: its
        # times there are placed by where they step back, which may come in the next piece
        held: tuple[pl.DataFrame, Piece | DataError] | None = None
        for raw, done in texts:
            try:
                if not isinstance(raw, pl.DataFrame):
                    raw = _read_any(raw, sep, options, keep, source)
            except DataError as exc:
                raise exc.rows_later(rows) from None
            if held is not None:
                before, outcome = held
                held = None
                try:
                    # (each piece's symbols are an Enum of its own: as text)
                    raw = pl.concat([enums_as_text(before), enums_as_text(raw)],
                                    how="vertical_relaxed")
                except pl.exceptions.PolarsError:  # pieces read as different types
                    if isinstance(outcome, DataError):
                        raise outcome.rows_later(rows) from None
                    rows += outcome.frame.height
                    yield outcome
            try:
                table, df, options = _validated(raw, options, source, piece=True)
            except RepeatedTimeError as exc:
                if not exc.open_ended:
                    raise exc.rows_later(rows) from None
                held = raw, exc
                continue
            except DataError as exc:
                raise exc.rows_later(rows) from None
            if _ends_in_repeated_hour(df, options.tz):
                held = raw, Piece(table, df, done)
                continue
            rows += df.height
            yield Piece(table, df, done)
        if held is not None:
            if isinstance(held[1], DataError):
                raise held[1].rows_later(rows)
            yield held[1]
    except _UNREADABLE as exc:
        raise DataError(f"cannot read the file: {exc}", source=source) from None


def _ends_in_repeated_hour(df: pl.DataFrame, tz: str | None) -> bool:
    """Whether the last row's time, on ``tz``'s wall clock, happened twice (the clocks went
    back then)."""
    if tz is None or df.height == 0:
        return False
    wall = df.get_column("ts").tail(1).dt.convert_time_zone(tz).dt.replace_time_zone(None)
    return (wall.dt.replace_time_zone(tz, ambiguous="earliest")
            != wall.dt.replace_time_zone(tz, ambiguous="latest")).item()


def is_large_file(path: str | Path) -> bool:
    """Whether a file is too large to read whole (:func:`read_market_pieces` reads it): CSV
    of over ``LARGE_CSV_BYTES`` of text (compressed: guessed from its size), Parquet of
    over ``LARGE_PARQUET_ROWS`` rows. The same file always gets the same answer."""
    path = Path(path)
    try:
        if _kind_by_name(path) == "parquet":
            return _parquet_rows(path) > LARGE_PARQUET_ROWS
        if path.suffix.lower() == _ZIP:  # (an archive knows its file's size)
            return _zip_member(path).file_size > LARGE_CSV_BYTES
        ratio = _COMPRESSION_RATIO if _compressed(path) else 1
        return path.is_file() and path.stat().st_size * ratio > LARGE_CSV_BYTES
    except (*_UNREADABLE, pl.exceptions.PolarsError, DataError):
        return False  # (reading it whole then names what is wrong)


def _open(path: Path, options: ImportOptions
          ) -> tuple[str | None, ImportOptions, list[str] | None]:
    """The file's CSV separator (None: Parquet), the options with its loosely named columns
    mapped (:func:`_loose_names`) and the columns to parse (:func:`_wanted`; the same for
    every piece of a large file), once it is known to be a file to read: the header line or
    the Parquet schema read once for all three."""
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    try:
        if _file_kind(path) == "csv":
            header = _first_line(path)
            sep = _separator(path, options, header)
            names = _csv_names(header, sep)
            if options.header:
                options = _loose_names(names, options)
            else:  # (as the reader names them)
                names = [f"column_{i + 1}" for i in range(len(names))]
            return sep, options, _wanted(names, options)
    except _UNREADABLE as exc:
        raise DataError(f"cannot read the file: {exc}", source=str(path)) from None
    names = _parquet_names(path)
    options = _loose_names(names, options)
    return None, options, _wanted(names, options)


def _read_any(path: Path | bytes, sep: str | None, options: ImportOptions,
              keep: list[str] | None, source: str) -> pl.DataFrame:
    """The file or piece read typed (the columns ``keep``); failing that, as text, for
    validation to name the value that did not fit."""
    try:
        return _read_raw(path, sep, options, keep, as_text=False)
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError):
        try:
            return _read_raw(path, sep, options, as_text=True)
        except (pl.exceptions.PolarsError, OSError) as exc:
            how = "" if sep is None else (f" (as CSV separated by {sep!r}; the separator "
                                          f"option sets another)")
            reason = str(exc).strip().splitlines()[0]  # Polars adds advice on more lines
            raise DataError(f"cannot read the file{how}: {reason}", source=source) from None


def _validated(raw: pl.DataFrame, options: ImportOptions, source: str, *,
               piece: bool = False, enum_symbols: bool = False
               ) -> tuple[str, pl.DataFrame, ImportOptions]:
    """(table, frame) of a file or ``piece``, and the options the rest of its file reads
    with: its table, and for a piece the day/month order its dates proved (a later piece of
    days 1 to 12 proves neither)."""
    df = _map_columns(raw, options, source)
    table = _table_of(df, options, source)
    if options.buyer_maker:
        df = df.with_columns(side=_side_of_buyer_maker(df, table, source))
    elif table == "ticks" and "side" not in df.columns and "is_buyer_maker" in df.columns:
        # (one line for a directory of such files: the text names no file)
        warnings.warn("the trades' sides are in is_buyer_maker (Binance's flag), read with "
                      "buyer_maker=True (--buyer-maker); without it they are 0, unknown",
                      stacklevel=2)
    if table == "ticks" and "side" not in df.columns:
        df = df.with_columns(side=pl.lit(0, pl.Int8))
    if table == "quotes" and not {"bid_sz", "ask_sz"} & set(df.columns):
        df = df.with_columns(bid_sz=pl.lit(0.0), ask_sz=pl.lit(0.0))  # sizes unknown
    if piece and options.day_first is None and options.ts_format is None and "ts" in df.columns:
        order = day_month_order(df.get_column("ts"))
        options = options if order is None else replace(options, day_first=order)
    df = validate_frame(df, table, source=source, ts_unit=options.ts_unit, tz=options.tz,
                        ts_format=options.ts_format, day_first=options.day_first,
                        enum_symbols=enum_symbols)
    return table, df, replace(options, table=table)


_FLAG_WORDS = {"true": True, "false": False, "1": True, "0": False}


def _side_of_buyer_maker(df: pl.DataFrame, table: str, source: str) -> pl.Series:
    """The trade side of a buyer-is-maker flag (the side column, else is_buyer_maker): true
    (the seller took the resting bid) -1, false (the buyer took the offer) +1; a missing
    flag stays missing, for validation to name."""
    name = "side" if "side" in df.columns else "is_buyer_maker"  # (Binance's header name)
    if table != "ticks" or name not in df.columns:
        raise DataError("buyer_maker: no side column to read the buyer-is-maker flag from "
                        "(map the flag's column to side, e.g. side=m)", source=source,
                        field="side")
    col = df.get_column(name)
    if col.dtype == pl.String:
        words = col.str.strip_chars().str.to_lowercase()
        flag = words.replace_strict(_FLAG_WORDS, default=None, return_dtype=pl.Boolean)
        bad = words.is_not_null() & flag.is_null()
    elif col.dtype.is_integer():
        flag, bad = col.cast(pl.Boolean), ~col.is_in([0, 1])
    elif col.dtype in (pl.Boolean, pl.Null):
        flag, bad = col.cast(pl.Boolean), None
    else:
        raise DataError(f"buyer_maker: expected a true/false flag, got a column of {col.dtype}",
                        source=source, field=col.name)
    if bad is not None and bad.any():
        row = int(bad.arg_true()[0])
        raise DataError(f"buyer_maker: expected true or false, got {col[row]!r}",
                        source=source, row=row + 1, field=col.name)
    return (1 - 2 * flag.cast(pl.Int8)).alias("side")  # (null stays null)


def _csv_pieces(path: Path, header: bool, piece_bytes: int
                ) -> Iterator[tuple[bytes, float]]:
    """The file's text in pieces of whole lines (each after the header line, when the file
    has one), with the share of the file read."""
    with _csv_stream(path) as (stream, share):
        head, carry, yielded = b"", b"", False
        while True:
            block = stream.read(piece_bytes)
            text = carry + block
            cut = text.rfind(b"\n") + 1 if block else len(text)
            if block and cut == 0:  # a line longer than a piece: read on
                carry = text
                continue
            text, carry = text[:cut], text[cut:]
            if header and not head:
                end = text.find(b"\n") + 1 or len(text)
                head, text = text[:end], text[end:]
            if text.strip() or (not block and not yielded):  # (a file of no rows: one piece)
                yield head + text, share()
                yielded = True
            if not block:
                return


def _parquet_pieces(path: Path, piece_rows: int, keep: list[str] | None
                    ) -> Iterator[tuple[pl.DataFrame, float]]:
    rows = _parquet_rows(path)
    scan = pl.scan_parquet(path, glob=False)
    scan = scan if keep is None else scan.select(keep)
    for start in range(0, max(rows, 1), piece_rows):
        done = min((start + piece_rows) / max(rows, 1), 1.0)
        yield scan.slice(start, piece_rows).collect(), done


def _parquet_rows(path: Path) -> int:
    return pl.scan_parquet(path, glob=False).select(pl.len()).collect().item()


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus every CSV/Parquet file under directories named, leaving
    out hidden ones (a name or a folder under the directory starting with a dot: macOS's
    ``._trades.csv`` resource forks, ``.ipynb_checkpoints``, a lake's staging)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*")
                              if not any(part.startswith(".")
                                         for part in f.relative_to(p).parts)
                              and f.is_file() and _kind_by_name(f) is not None))
        else:
            out.append(p)
    return out
