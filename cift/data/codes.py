"""Dense integer codes for a symbol column, so Numba kernels can keep per-symbol state, and
the way back: a String column from codes and names.

Sorting a time-interleaved multi-symbol frame by (symbol, ts) costs seconds at 10M rows;
giving each row its symbol's code and keeping per-code state in one pass costs milliseconds.
A String column whose values are all at most 12 bytes (tickers, almost always) is coded from
its Arrow string views: such a view holds the whole string, so the 16 bytes are an exact key
and one pass over them codes the column. Other strings are coded through two independent
64-bit hashes: the first assigns codes, the second proves that no two symbols shared a first
hash (if they ever did, an exact dictionary encoding is used instead).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import polars as pl
import pyarrow as pa

from cift.errors import DataError

__all__ = ["StringViews", "enum_as_text", "enum_column", "enum_physical", "enums_as_text",
           "has_padding", "recode", "symbol_codes"]


@nb.njit(cache=True, nogil=True)
def _codes_from_hashes(h1, h2, cap):
    """Codes in order of first appearance from an open-addressing table of ``cap`` slots.

    Returns (codes, first row of each code, status): 1 done, 0 one h1 carried two h2 values
    (a collision), 2 the table is half full (call again with a larger ``cap``).
    """
    n = h1.shape[0]
    mask = cap - 1
    shift = np.uint64(64 - np.log2(cap))
    keys = np.zeros(cap, np.uint64)
    vals = np.full(cap, -1, np.int32)
    check = np.empty(cap // 2, np.uint64)
    first = np.empty(cap // 2, np.int64)
    codes = np.empty(n, np.int32)
    count = 0
    for i in range(n):
        h = h1[i]
        slot = np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> shift)  # Fibonacci hashing
        while vals[slot] >= 0 and keys[slot] != h:
            slot = (slot + 1) & mask
        code = vals[slot]
        if code < 0:
            if count == cap // 2:
                return codes, first, 2
            code = count
            keys[slot] = h
            vals[slot] = code
            check[code] = h2[i]
            first[code] = i
            count += 1
        elif h2[i] != check[code]:
            return codes, first, 0
        codes[i] = code
    return codes, first[:count], 1


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# the bits of a view's two words that hold an inline string of each length 0..12 (the length
# word and the string's bytes; the Arrow format pads the rest with zeros, this does not trust it)
_INLINE_MASKS = np.array(
    [[(1 << (32 + 8 * min(n, 4))) - 1, (1 << 8 * max(n - 4, 0)) - 1] for n in range(13)],
    np.uint64)


@nb.njit(cache=True, nogil=True)
def _codes_from_views(views, cap, codes, masks):
    """Codes in order of first appearance of Arrow string views (rows of two uint64) whose
    strings are inline (<= 12 bytes); an open-addressing table of ``cap`` slots keyed by the
    16 bytes, into ``codes`` (NumPy's allocation: huge pages, fewer faults than Numba's).
    Returns (first row of each code, status): 1 done, 0 a longer string (its view is not
    its content), 2 the table is half full (call again with a larger cap).
    """
    n = views.shape[0]
    mask = cap - 1
    shift = np.uint64(64 - np.log2(cap))
    keys = np.zeros(2 * cap, np.uint64)
    vals = np.full(cap, -1, np.int32)
    first = np.empty(cap // 2, np.int64)
    count = 0
    for i in range(n):
        a, b = views[i, 0], views[i, 1]
        length = a & np.uint64(0xFFFFFFFF)
        if length > 12:
            return first, 0
        a &= masks[length, 0]
        b &= masks[length, 1]
        slot = np.int64(((a ^ (b * _GOLDEN)) * _GOLDEN) >> shift)
        while True:
            code = vals[slot]
            if code < 0 or (keys[2 * slot] == a and keys[2 * slot + 1] == b):
                break
            slot = (slot + 1) & mask
        if code < 0:
            if count == cap // 2:
                return first, 2
            code = count
            keys[2 * slot], keys[2 * slot + 1] = a, b
            vals[slot] = code
            first[code] = i
            count += 1
        codes[i] = code
    return first[:count], 1


def _views(strings: pl.Series) -> np.ndarray | None:
    """A String column's Arrow string views as rows of two uint64 (no copy), or None when
    Polars hands it over as several arrays or another layout."""
    arr = strings.to_arrow(compat_level=pl.CompatLevel.newest())
    if not isinstance(arr, pa.StringViewArray):
        return None
    views = np.frombuffer(arr.buffers()[1], np.uint64).reshape(-1, 2)
    return views[arr.offset:arr.offset + len(arr)]


@nb.njit(cache=True, nogil=True)
def _inline_edge_is(views, byte):
    """1 if an inline string (<= 12 bytes) starts or ends with ``byte``, else 0; -1 if a
    string is longer (its view holds only its first 4 bytes)."""
    longer = False
    hit = False
    for i in range(views.shape[0]):
        a, b = views[i, 0], views[i, 1]
        n = a & np.uint64(0xFFFFFFFF)
        last = n + np.uint64(3)  # the last byte's place among the view's 16 (little-endian)
        word = a if last < 8 else b
        tail = (word >> ((last & np.uint64(7)) * np.uint64(8))) & np.uint64(0xFF)
        head = (a >> np.uint64(32)) & np.uint64(0xFF)
        longer |= n > 12
        hit |= (n != 0) & ((head == byte) | (tail == byte))
    return -1 if longer else int(hit)


def has_padding(strings: pl.Series, char: str = " ") -> bool:
    """Whether any value of a String column starts or ends with ``char`` (one ASCII
    character): ~4 ns a row from the string views, where Polars' starts_with and ends_with
    took 11-14 together."""
    views = _views(strings) if strings.null_count() == 0 else None
    found = -1 if views is None else _inline_edge_is(views, np.uint64(ord(char)))
    if found >= 0:
        return bool(found)
    return bool(strings.str.starts_with(char).any() or strings.str.ends_with(char).any())


def _view_codes(symbol: pl.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes of a String column from its string views, or None if a value is > 12 bytes."""
    views = _views(symbol)
    if views is None:
        return None
    codes = np.empty(len(views), np.int32)
    cap = 1024
    while True:
        first, status = _codes_from_views(views, cap, codes, _INLINE_MASKS)
        if status != 2:
            return (codes, first) if status == 1 else None
        cap *= 16


def _dense_codes(h1: np.ndarray, h2: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    cap = 1024  # a power of two
    while True:
        codes, first, status = _codes_from_hashes(h1, h2, cap)
        if status != 2:
            return codes, first, status == 1
        cap *= 16


def symbol_codes(symbol: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Code of every row's symbol and the first row of each code.

    Parameters
    ----------
    symbol : pl.Series
        A String, Categorical or Enum column.

    Returns
    -------
    (codes, first) : (np.ndarray[int32], np.ndarray[int64])
        ``codes[i]`` is in ``range(len(first))``; ``symbol[first[k]]`` is the symbol of code
        ``k``. Codes are numbered in order of first appearance.
    """
    if symbol.null_count():
        raise DataError("symbol has nulls", field="symbol")
    if symbol.dtype != pl.Categorical and not isinstance(symbol.dtype, pl.Enum):
        symbol = symbol.cast(pl.String)
        if (coded := _view_codes(symbol)) is not None:
            return coded
        codes, first, ok = _dense_codes(symbol.hash(seed=0).to_numpy(),
                                        symbol.hash(seed=0x9E3779B97F4A7C15).to_numpy())
        if ok:
            return codes, first
        symbol = symbol.cast(pl.Categorical)  # exact, slower
    physical = symbol.to_physical().cast(pl.UInt64).to_numpy()
    codes, first, _ = _dense_codes(physical, physical)  # dense, in first-appearance order
    return codes, first


def enum_physical(n_names: int) -> np.dtype:
    """The dtype of the codes of a ``pl.Enum`` of ``n_names`` names, by Polars' rule: u8 up
    to 255 names, u16 up to 65,535, else u32 (asking Polars, by making such an Enum, took
    25 ms for 100k names)."""
    return np.dtype(np.uint8 if n_names <= 255 else np.uint16 if n_names <= 65_535
                    else np.uint32)


def enum_column(name: str, codes: np.ndarray, names: list[str]) -> pl.Series:
    """The column ``names[codes[i]]`` as a ``pl.Enum`` of ``names`` (distinct), from integer
    codes (no copy when they are of :func:`enum_physical`'s dtype): 10M rows in 20 ms and
    10 MB, where their String column took 90 ms and 160 MB."""
    physical = enum_physical(len(names))
    return pl.Series(name, codes.astype(physical, copy=False)).cat.to(pl.Enum(names))


def enum_as_text(col: pl.Series) -> pl.Series:
    """An Enum column as String: its categories gathered by its codes (10M rows: 90 ms, where
    Polars' cast took 190)."""
    return col.dtype.categories.gather(col.to_physical()).alias(col.name)


def enums_as_text(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with its Enum columns as String (:func:`enum_as_text`): frames whose Enums
    differ do not concatenate."""
    return df.with_columns(enum_as_text(df.get_column(name))
                           for name, dtype in df.schema.items() if isinstance(dtype, pl.Enum))


@nb.njit(cache=True, nogil=True)
def recode(codes, table, out):
    """``out[i] = table[codes[i]]`` (``out`` may be ``codes``: in place), e.g. first-appearance
    codes to sorted names' codes; a gather NumPy does 2-3x slower, into a new array."""
    for i in range(codes.shape[0]):
        out[i] = table[codes[i]]


class StringViews:
    """Arrow string views of a list of names: ``table[i]`` (two uint64) is the 16-byte view of
    ``names[i]``, pointing into ``data``. Kernels copy views into a (rows, 2) uint64 array,
    and :meth:`column` hands that to Polars without a copy."""

    def __init__(self, names: list[str]) -> None:
        encoded = [s.encode() for s in names]
        table = np.zeros((len(names), 16), np.uint8)
        offset = 0
        for i, b in enumerate(encoded):
            table[i, :4] = np.frombuffer(np.array(len(b), "<u4").tobytes(), np.uint8)
            if len(b) <= 12:  # short strings live inside the view
                table[i, 4:4 + len(b)] = np.frombuffer(b, np.uint8)
            else:  # a 4-byte prefix, buffer 0, the offset in it
                table[i, 4:8] = np.frombuffer(b[:4], np.uint8)
                table[i, 12:] = np.frombuffer(np.array(offset, "<u4").tobytes(), np.uint8)
            offset += len(b)
        self.table = table.view(np.uint64)
        self.data = b"".join(encoded)

    def column(self, views: np.ndarray, name: str = "symbol") -> pl.Series:
        """The String column of ``views``, a (rows, 2) uint64 array of rows of ``table``."""
        array = pa.Array.from_buffers(pa.string_view(), len(views),
                                      [None, pa.py_buffer(views), pa.py_buffer(self.data)])
        return pl.Series(name, array)

