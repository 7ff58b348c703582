"""A validated batch split into (symbol, UTC day) chunks for the lake, in one pass.

One Numba pass over the rows gives every chunk its row count, first/last timestamp, whether it
is time-ordered, and a content hash: a 128-bit two-lane multiply-xorshift over the raw column
bits, in time order (ties in row order: a chunk whose rows are not in time order is hashed
again, sorted), the order every store reads rows back in. It is cift's own function, so the
hash of a batch never changes under a Polars or Python upgrade, and re-ingesting the same file
is always recognized, as is a chunk copied from another store.

The chunks are then written by one partitioned Parquet write (Polars splits and writes in
parallel in Rust), which is several times faster than a write per chunk from Python.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np
import polars as pl

from cift.data.codes import symbol_codes
from cift.data.pages import small_pages

__all__ = ["Batch", "Chunk", "dealt", "group_order", "rank_in_group", "staged_file"]

_DAY_NS = 86_400 * 1_000_000_000
_KEY = "_chunk"
_BLOCK = 1 << 18  # rows a block: the hash folds a block behind the numbering (see _chunked)
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)


@dataclass(frozen=True, slots=True)
class Chunk:
    """The rows of one symbol on one UTC day within a batch."""

    key: int
    symbol: str
    day: int
    rows: int
    first_ns: int
    last_ns: int
    digest: str


@nb.njit(cache=True, nogil=True)
def _day_range(ts):
    """(first day, number of days) the timestamps span (one pass, no division per row)."""
    lo, hi = ts[0], ts[0]
    for i in range(ts.shape[0]):
        lo, hi = min(lo, ts[i]), max(hi, ts[i])
    return lo // _DAY_NS, hi // _DAY_NS - lo // _DAY_NS + 1


@nb.njit(cache=True, nogil=True, _nrt=False)
def _index_rows(code, ts, start, stop, n_days, day_lo, table, k, index, chunk_code, chunk_day,
                rows, lo, hi, last, ordered, h1, h2):
    """Number the (symbol code, UTC day) chunk of rows [start, stop) in order of first
    appearance, after the ``k`` chunks numbered so far (``table``: symbol x day -> chunk,
    -1 for none yet), into ``index``; a new chunk's facts are set up for :func:`_fold_rows`.
    Returns the number of chunks now."""
    for i in range(start, stop):
        slot = code[i] * n_days + ts[i] // _DAY_NS - day_lo
        chunk = table[slot]
        if chunk < 0:
            chunk = k
            table[slot] = k
            chunk_code[k] = code[i]
            chunk_day[k] = ts[i] // _DAY_NS
            rows[k], lo[k], hi[k], last[k] = 0, ts[i], ts[i], ts[i]
            ordered[k], h1[k], h2[k] = True, _M3, _M1
            k += 1
        index[i] = chunk
    return k


@nb.njit(cache=True)
def _facts(k):
    """Per chunk, before any row: rows, min ts, max ts, last ts, time-ordered, hash lanes."""
    return (np.zeros(k, np.int64), np.full(k, np.iinfo(np.int64).max),
            np.full(k, np.iinfo(np.int64).min), np.full(k, np.iinfo(np.int64).min),
            np.ones(k, np.bool_), np.full(k, _M3), np.full(k, _M1))


@nb.njit(cache=True, nogil=True, _nrt=False)
def _fold_rows(index, ts, v0, v1, v2, v3, n_values, start, stop, rows, lo, hi, last, ordered,
               h1, h2):
    """Rows [start, stop) into their chunks' facts, in row order: rows, min/max ts, whether
    time-ordered, and the two hash lanes over ts, then the first ``n_values`` of the value
    columns v0..v3 (integers, or floats viewed as int64: their bit patterns)."""
    for i in range(start, stop):
        c = index[i]
        t = ts[i]
        rows[c] += 1
        lo[c] = min(lo[c], t)
        hi[c] = max(hi[c], t)
        if t < last[c]:
            ordered[c] = False
        last[c] = t
        a, b = h1[c], h2[c]
        a, b = _mix(a, b, np.uint64(t))
        a, b = _mix(a, b, np.uint64(v0[i]))
        if n_values > 1:
            a, b = _mix(a, b, np.uint64(v1[i]))
        if n_values > 2:
            a, b = _mix(a, b, np.uint64(v2[i]))
        if n_values > 3:
            a, b = _mix(a, b, np.uint64(v3[i]))
        h1[c], h2[c] = a, b


def _chunk_stats(index, ts, v0, v1, v2, v3, n_values, k):
    """Per chunk of ``index`` (0..k-1): rows, min/max ts, whether time-ordered, and the two
    hash lanes (:func:`_fold_rows`)."""
    rows, lo, hi, last, ordered, h1, h2 = _facts(k)
    _fold_rows(index, ts, v0, v1, v2, v3, n_values, 0, len(index), rows, lo, hi, last, ordered,
               h1, h2)
    return rows, lo, hi, ordered, h1, h2


def _chunked(code, ts, n_codes, values, n_values):
    """Each row's chunk (symbol, UTC day; numbered in order of first appearance) and each
    chunk's facts: (index, chunk code, chunk day, rows, min ts, max ts, ordered, h1, h2), or
    None when a dense table of symbols x days would be too large (sort instead).

    Numbering and folding run as a pipeline on two threads, a block of rows at a time: the
    hash folds each chunk's rows in order, so it cannot be split, but it can follow the
    numbering a block behind (10M rows: 146 -> 97 ms)."""
    n = len(ts)
    day_lo, n_days = _day_range(ts)
    if n_codes * n_days > 4 * n + 4096:
        return None
    table = np.full(n_codes * n_days, -1, np.int64)
    room = min(n_codes * n_days, n)  # (set up chunk by chunk: pages never written cost none)
    chunk_code, chunk_day = np.empty(room, np.int64), np.empty(room, np.int64)
    facts = (np.empty(room, np.int64), np.empty(room, np.int64), np.empty(room, np.int64),
             np.empty(room, np.int64), np.empty(room, np.bool_), np.empty(room, np.uint64),
             np.empty(room, np.uint64))
    index = np.empty(n, np.int64)
    small_pages(index)  # (fresh memory written once: 10M rows 90 ms sooner, see pages.py)
    k = 0
    if n <= _BLOCK:  # (one block: no thread to start)
        k = _index_rows(code, ts, 0, n, n_days, day_lo, table, k, index, chunk_code, chunk_day,
                        *facts)
        _fold_rows(index, ts, *values, n_values, 0, n, *facts)
    else:
        with ThreadPoolExecutor(1) as folder:  # (in submission order: a chunk's rows in order)
            folds = []
            for start in range(0, n, _BLOCK):
                stop = min(start + _BLOCK, n)
                k = _index_rows(code, ts, start, stop, n_days, day_lo, table, k, index,
                                chunk_code, chunk_day, *facts)
                folds.append(folder.submit(_fold_rows, index, ts, *values, n_values, start,
                                           stop, *facts))
            for fold in folds:
                fold.result()
    rows, lo, hi, _, ordered, h1, h2 = (a[:k] for a in facts)
    return index, chunk_code[:k], chunk_day[:k], rows, lo, hi, ordered, h1, h2


@nb.njit(cache=True, inline="always")
def _mix(a, b, v):
    """One step of the two hash lanes: multiply-xorshift and multiply-rotate."""
    a = (a ^ v) * _M1
    a ^= a >> np.uint64(29)
    b = (b + v) * _M2
    b = (b << np.uint64(31)) | (b >> np.uint64(33))
    return a, b


def dealt(items: list, weight, parts: int) -> tuple[list[list], list[int]]:
    """``items`` dealt into up to ``parts`` lists of about equal total ``weight(item)``:
    heaviest first, each to the lightest list so far. Returns the lists and their totals."""
    lists: list[list] = [[] for _ in range(max(1, min(parts, len(items))))]
    totals = [0] * len(lists)
    for item in sorted(items, key=lambda i: -weight(i)):
        j = totals.index(min(totals))
        lists[j].append(item)
        totals[j] += weight(item)
    return lists, totals


@nb.njit(cache=True)
def group_order(key, k):
    """Row indices grouped by ``key`` (0..k-1), keeping row order within a group (a stable
    counting sort: O(n), where an argsort is O(n log n))."""
    start = np.zeros(k + 1, np.int64)
    for i in range(key.shape[0]):
        start[key[i] + 1] += 1
    for g in range(k):
        start[g + 1] += start[g]
    order = np.empty(key.shape[0], np.int64)
    for i in range(key.shape[0]):
        order[start[key[i]]] = i
        start[key[i]] += 1
    return order


@nb.njit(cache=True)
def rank_in_group(key, first):
    """Each row numbered within its group in row order, the group's rows from ``first[g]``
    on (``first[g]``, ``first[g] + 1``, ...); groups are ``key`` values 0..len(first)-1."""
    next_ = first.copy()
    rank = np.empty(key.shape[0], np.int64)
    for i in range(key.shape[0]):
        rank[i] = next_[key[i]]
        next_[key[i]] += 1
    return rank


def _hashes_in_time_order(index, ts, padded, n_values, ordered, h1, h2):
    """The hash lanes of the chunks not in time order, over their rows put in time order
    (ties in row order): the order every store reads rows back in, so a chunk read from one
    store and written to another (cift copy) has the hash it had when its file came in."""
    rows = np.flatnonzero(~ordered[index])
    rows = rows[np.argsort(ts[rows], kind="stable")]
    rows = rows[np.argsort(index[rows], kind="stable")]  # by chunk, then time, then row
    *_, t1, t2 = _chunk_stats(index[rows], ts[rows], *(v[rows] for v in padded), n_values,
                              len(ordered))
    return np.where(ordered, h1, t1), np.where(ordered, h2, t2)


def _bits(col: pl.Series) -> np.ndarray:
    """A column's values as integers (floats viewed as int64: their bit pattern, no copy)."""
    arr = col.to_physical().rechunk().to_numpy()
    return arr.view(np.int64) if arr.dtype == np.float64 else arr


@dataclass(frozen=True)
class Batch:
    """A validated frame, keyed by chunk, with every chunk's facts."""

    frame: pl.DataFrame  # the data columns except symbol, plus the chunk key
    chunks: tuple[Chunk, ...]
    ordered: bool  # every chunk already in time order

    @classmethod
    def of(cls, df: pl.DataFrame) -> Batch:
        """Split a validated frame (ts, symbol, value columns) into chunks."""
        symbol = df.get_column("symbol")
        if isinstance(symbol.dtype, pl.Enum):  # (the importer's: coded already)
            code, names = symbol.to_physical().rechunk().to_numpy(), symbol.dtype.categories
        else:
            code, first = symbol_codes(symbol)
            names = symbol.gather(first)
        ts = df.get_column("ts").to_physical().rechunk().to_numpy()
        values = [_bits(df.get_column(c)) for c in df.columns if c not in ("ts", "symbol")]
        if not 1 <= len(values) <= 4:
            raise ValueError(f"a batch has 1 to 4 value columns, got {len(values)}")
        padded = values + [values[0]] * (4 - len(values))
        chunked = _chunked(code, ts, len(names), padded, len(values))
        if chunked is not None:
            index, chunk_code, chunk_day, rows, lo, hi, ordered, h1, h2 = chunked
        else:  # sparse (many symbols over many years): sort-based
            day = ts // _DAY_NS
            pairs, index = np.unique(np.stack([code, day], axis=1), axis=0, return_inverse=True)
            chunk_code, chunk_day = pairs[:, 0], pairs[:, 1]
            index = index.ravel()
            rows, lo, hi, ordered, h1, h2 = _chunk_stats(index, ts, *padded, len(values),
                                                         len(chunk_code))
        present = np.arange(len(chunk_code))
        if not ordered.all():
            h1, h2 = _hashes_in_time_order(index, ts, padded, len(values), ordered, h1, h2)
        chunks = []
        for j in present.tolist():
            symbol, d = names[int(chunk_code[j])], int(chunk_day[j])
            digest = hashlib.sha256(
                f"{symbol}\x1f{int(h1[j]):016x}{int(h2[j]):016x}{int(rows[j])}".encode()
            ).hexdigest()[:24]
            chunks.append(Chunk(j, symbol, d, int(rows[j]), int(lo[j]), int(hi[j]), digest))
        frame = df.drop("symbol").with_columns(pl.Series(_KEY, index))
        return cls(frame, tuple(chunks), bool(ordered.all()))

    def write_staged(self, stage: Path, keys: list[int], compression: str,
                     compression_level: int | None) -> None:
        """Write the chunks ``keys`` as Parquet, one file each, under ``stage``."""
        frame = self.frame
        if len(keys) < len(self.chunks):
            frame = frame.filter(pl.col(_KEY).is_in(keys))
        if not self.ordered:
            frame = frame.sort(_KEY, "ts", maintain_order=True)
        stage.mkdir(parents=True)
        # files side by side, named by their key: a directory per key (Polars' default) cost
        # two file-system calls more per chunk, to make it and to remove it (a directory
        # took 0.13-0.33 ms to make on the test VM: felt when writing thousands of symbols)
        frame.lazy().sink_parquet(
            pl.PartitionBy(stage, key=_KEY, include_key=False, approximate_bytes_per_file=None,
                           file_path_provider=_staged_name),
            compression=compression, compression_level=compression_level, statistics=True)


def _staged_name(args: pl.io.partition.FileProviderArgs) -> str:
    if args.index_in_partition:
        raise RuntimeError("a staged chunk was split into several files")
    return _staged(int(args.partition_keys.item()))


def _staged(key: int) -> str:
    return f"{key}.parquet"


def staged_file(stage: Path, key: int) -> Path:
    """The file the staged write made for chunk ``key``."""
    return stage / _staged(key)
