"""A fast reader for plain CSV files of market data, in Numba on the file's mapped bytes.

Tick files are plain: a header line, then rows of an ISO timestamp (or epoch digits), a symbol,
a few decimal numbers and maybe a short text or two (a side A/B/N or buy/sell, a venue).
Arrow's general reader spent 1.8 s of CPU on 10M such rows (572 MB) and its frame another
0.17 s to become one chunk per column; this reader parses the mapped file in one pass per core
straight into one array per column (text columns as codes of their distinct values).

It reads only what it is sure of and gives up (returns None) on anything else — quotes, an
empty field or line, a row with another number of fields, a number it cannot convert exactly
(see :func:`_number`), a text where the column's first value was a number or a time, a column
mixing zoned and naive times, text that Arrow would read as booleans or dates — so the caller
reads the file with Arrow's reader instead, which then gives exactly the frame, or the error,
it always gave. What it returns is what Arrow returns: the same columns, and per column the
same values: int64 where every field is an integer, else float64 (correctly rounded); a UTC
Datetime where every time has a zone, a naive one where none has; text as written (the
symbol without spaces around it, as the importer trims it). The symbol column alone comes as a
``pl.Enum`` of its names in order of first appearance, not as String: a store codes symbols
anyway, and a column of codes costs a fraction of the strings (see
:func:`cift.data.codes.enum_column`).

A file is mapped, not read: one cut short by another process while it is parsed ends the
process, as with any mapped file.
"""

from __future__ import annotations

import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numba as nb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from cift.data.codes import enum_column, enum_physical, recode
from cift.data.intrinsics import load_u64, trailing_zeros
from cift.data.pages import small_pages, usable_cores

__all__ = ["read_plain_csv"]

# what a field held, or'ed per column: its type is decided by all its fields together
_INT, _FLOAT, _ZONED, _NAIVE = 1, 2, 4, 8
# a kernel's verdict
_OK, _NOT_PLAIN, _TABLE_FULL = 0, 1, 2
# a field's role: the index of its numeric column (>= 0), skipped, or text column _TEXT - role
_SKIP, _TEXT = -1, -2
_PART_BYTES = 16 << 20  # the least text worth a thread of its own
_SEPARATORS = b",;\t|"

# 10**k exact in float64 for k <= 22: Clinger's fast path (an integer mantissa below 2**53
# times or divided by one of these is the correctly rounded value of the decimal)
_POW10 = np.array([10.0 ** k for k in range(23)])
_MANTISSA_MAX = 1 << 53
_NL, _CR, _QUOTE, _SPACE, _DOT, _MINUS, _PLUS, _COLON = 10, 13, 34, 32, 46, 45, 43, 58
_ZERO, _NINE = 48, 57
_ONES = np.uint64(0x0101010101010101)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_QUOTES = np.uint64(0x2222222222222222)
_CRS = np.uint64(0x0D0D0D0D0D0D0D0D)
_ZEROS = np.uint64(0x3030303030303030)
_ABOVE9 = np.uint64(0x7676767676767676)  # (+ a byte's low 7 bits: its high bit if above 9)
_PAIRS = np.uint64(0x00FF00FF00FF00FF)
_QUADS = np.uint64(0x0000FFFF0000FFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_POW10_INT = np.array([10 ** k for k in range(10)], np.int64)


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _zero_bytes(x):
    """The high bit of each byte of ``x`` that is zero, and no other bit: adding 0x7F to a
    byte's low bits sets its high bit unless all are 0, and its own high bit is or'ed in."""
    return ~(((x & _LOW7) + _LOW7) | x) & ~_LOW7


@nb.njit(cache=True, nogil=True, _nrt=False)
def _count_lines(buf, lo, hi):
    """Newlines in buf[lo:hi], plus one for a last line without its newline.

    Eight bytes at a time (a byte-wise loop ran 0.5 ns a byte, this 0.07): the zero bytes
    of a word xor'ed with newlines are counted by one multiply of their flags.
    """
    n = np.uint64(0)
    i = lo
    while i + 8 <= hi:
        flags = _zero_bytes(load_u64(buf, i) ^ _NEWLINES) >> np.uint64(7)
        n += flags * _ONES >> np.uint64(56)
        i += 8
    for j in range(i, hi):
        n += np.uint64(buf[j] == _NL)
    if hi > lo and buf[hi - 1] != _NL:
        n += np.uint64(1)
    return np.int64(n)


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _digits(buf, p, n):
    """The value of the ``n`` digits at ``p``, or -1 if any is not a digit."""
    v = 0
    for i in range(p, p + n):
        c = buf[i]
        if c < _ZERO or c > _NINE:
            return -1
        v = v * 10 + (c - _ZERO)
    return v


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _month_days(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m == 4 or m == 6 or m == 9 or m == 11 else 31


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _eight_digits(x, n):
    """The number of the ``n`` (1-8) digit values in the low bytes of ``x``, the first the
    most significant: pairs, then fours, then all eight, by multiplies."""
    x = (x & ((np.uint64(1) << np.uint64(8 * n)) - np.uint64(1) if n < 8 else ~np.uint64(0))) \
        << np.uint64(8 * (8 - n))
    x = (x * np.uint64(10) + (x >> np.uint64(8))) & _PAIRS
    x = (x * np.uint64(100) + (x >> np.uint64(16))) & _QUADS
    return (x * np.uint64(10000) + (x >> np.uint64(32))) & _LOW32


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _minute(buf, p):
    """Seconds since the epoch of the ``YYYY-MM-DD[T ]hh:mm`` in the 16 bytes at ``p``, or -1
    if they are anything else (a field out of range)."""
    if (buf[p + 10] != 84 and buf[p + 10] != _SPACE) or buf[p + 13] != _COLON:  # 84: 'T'
        return -1
    y, mo, d = _digits(buf, p, 4), _digits(buf, p + 5, 2), _digits(buf, p + 8, 2)
    h, mi = _digits(buf, p + 11, 2), _digits(buf, p + 14, 2)
    if y < 1678 or y > 2261 or mo < 1 or mo > 12 or d < 1 or d > _month_days(y, mo) \
            or h < 0 or h > 23 or mi < 0 or mi > 59:
        return -1
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _timestamp(buf, p, hi, minute):
    """(kind, ns, end) of the ``YYYY-MM-DD[T ]hh:mm:ss[.f]`` at ``p`` with an optional
    zone (``Z``, ``+hh``, ``+hhmm``, ``+hh:mm``): _ZONED in UTC, _NAIVE as written, and where
    it ends; kind 0 if it is anything else (a date alone, no seconds, more than 9 digits of
    fraction, a field out of range). ``minute``: :func:`_minute` of its first 16 bytes."""
    s = _digits(buf, p + 17, 2)
    if minute < 0 or buf[p + 16] != _COLON or s < 0 or s > 59:
        return 0, 0, p
    q = p + 19
    frac = 0
    if q + 9 <= hi and buf[q] == _DOT:  # the fraction's digits eight bytes at a time
        q += 1
        x = load_u64(buf, q) ^ _ZEROS  # digits become 0-9 in their bytes
        not_digit = (((x & _LOW7) + _ABOVE9) | x) & ~_LOW7  # (high bit: not 0-9)
        n = 8 if not_digit == 0 else np.int64(trailing_zeros(not_digit)) >> 3
        if n == 0:
            return 0, 0, p
        frac = np.int64(_eight_digits(x, n))
        q += n
        if n == 8 and q < hi and _ZERO <= buf[q] <= _NINE:
            frac = frac * 10 + (buf[q] - _ZERO)
            n = 9
            q += 1
        if n == 9 and q < hi and _ZERO <= buf[q] <= _NINE:
            return 0, 0, p
        frac *= _POW10_INT[9 - n]
    elif q < hi and buf[q] == _DOT:  # (near the end of the text: digit by digit)
        n = 0
        q += 1
        while q < hi and _ZERO <= buf[q] <= _NINE:
            if n == 9:
                return 0, 0, p
            frac = frac * 10 + (buf[q] - _ZERO)
            n += 1
            q += 1
        if n == 0:
            return 0, 0, p
        for _ in range(n, 9):
            frac *= 10
    kind = _NAIVE
    offset = 0
    if q < hi and buf[q] == 90:  # 'Z'
        kind = _ZONED
        q += 1
    elif q < hi and (buf[q] == _PLUS or buf[q] == _MINUS):
        kind = _ZONED
        sign = 1 if buf[q] == _PLUS else -1
        oh = _digits(buf, q + 1, 2) if q + 3 <= hi else -1
        om = 0
        q += 3
        if q < hi and buf[q] == _COLON:
            om = _digits(buf, q + 1, 2) if q + 3 <= hi else -1
            q += 3
        elif q + 2 <= hi and _ZERO <= buf[q] <= _NINE:
            om = _digits(buf, q, 2)
            q += 2
        if oh < 0 or oh > 23 or om < 0 or om > 59:
            return 0, 0, p
        offset = sign * (oh * 3600 + om * 60)
    return kind, (minute + s - offset) * 1_000_000_000 + frac, q


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _number(buf, p, hi):
    """(kind, integer, float, end) of the decimal at ``p``: _INT for ``[-]digits`` that fit
    int64 (with its float), _FLOAT for ``[-]digits.digits[e[+-]digits]`` whose digits fit 53
    bits and whose power of ten is within 10**±22 (exact: Clinger's fast path); kind 0 for
    anything else (a ``+`` sign, inf, nan, too many digits). It ends at the first byte that
    cannot continue it."""
    neg = p < hi and buf[p] == _MINUS
    if neg:
        p += 1
    m = np.uint64(0)
    digits = 0  # significant, from the first non-zero
    seen = 0
    scale = 0  # digits after the point
    dot = False
    while p < hi:
        c = buf[p]
        if _ZERO <= c <= _NINE:
            seen += 1
            if digits > 0 or c != _ZERO:
                digits += 1
                if digits > 19:
                    return 0, 0, 0.0, p
                m = m * np.uint64(10) + np.uint64(c - _ZERO)
            if dot:
                scale += 1
        elif c == _DOT and not dot:
            dot = True
        else:
            break
        p += 1
    if seen == 0:
        return 0, 0, 0.0, p
    exp = 0
    if p < hi and (buf[p] == 101 or buf[p] == 69):  # 'e', 'E'
        p += 1
        eneg = p < hi and buf[p] == _MINUS
        if p < hi and (buf[p] == _MINUS or buf[p] == _PLUS):
            p += 1
        n = 0
        while p < hi and _ZERO <= buf[p] <= _NINE and n < 5:
            exp = exp * 10 + (buf[p] - _ZERO)
            n += 1
            p += 1
        if n == 0 or n == 5:
            return 0, 0, 0.0, p
        if eneg:
            exp = -exp
        dot = True  # a float
    if not dot:
        if m > np.uint64(9223372036854775807) + np.uint64(neg):
            return 0, 0, 0.0, p
        i = -np.int64(m - np.uint64(1)) - 1 if neg and m > 0 else np.int64(m)
        return _INT, i, -float(m) if neg else float(m), p  # ("-0" in a float column: -0.0)
    if m > np.uint64(_MANTISSA_MAX):
        return 0, 0, 0.0, p
    k = exp - scale
    v = float(m)
    if m == 0:
        v = 0.0
    elif 0 <= k <= 22:
        v = v * _POW10[k]
    elif -22 <= k < 0:
        v = v / _POW10[-k]
    else:
        return 0, 0, 0.0, p
    return _FLOAT, 0, -v if neg else v, p


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _text_code(buf, s, e, hi, d, table, first, length, words, n_codes):
    """The code of the text buf[s:e] in text column ``d`` (a new one if unseen: returned ==
    n_codes), or -1 when the column's table is full. ``table[d]`` is open addressing;
    ``first``/``length`` hold where each code's text first appeared. A text of up to 8
    bytes (most: symbols, sides, venues) is one word, its bytes in ``words``: hashed by one
    multiply and compared at once; a longer one byte by byte."""
    n = e - s
    word = np.uint64(0)
    if n <= 8:
        if s + 8 <= hi:
            word = load_u64(buf, s)
            if n < 8:
                word &= (np.uint64(1) << np.uint64(8 * n)) - np.uint64(1)
        else:  # (the end of the text: no 8 bytes to read)
            for i in range(n):
                word |= np.uint64(buf[s + i]) << np.uint64(8 * i)
        h = (word ^ np.uint64(n)) * np.uint64(0x9E3779B97F4A7C15)
    else:
        h = np.uint64(0xCBF29CE484222325)  # FNV-1a
        for i in range(s, e):
            h = (h ^ np.uint64(buf[i])) * np.uint64(0x100000001B3)
    mask = table.shape[1] - 1
    slot = np.int64(h >> np.uint64(40)) & mask
    while True:
        code = table[d, slot]
        if code < 0:
            if 2 * (n_codes + 1) > table.shape[1]:
                return -1
            table[d, slot] = n_codes
            first[d, n_codes] = s
            length[d, n_codes] = n
            words[d, n_codes] = word
            return n_codes
        if length[d, code] == n:
            if n <= 8:
                if words[d, code] == word:
                    return code
            else:
                f = first[d, code]
                same = True
                for i in range(n):
                    if buf[f + i] != buf[s + i]:
                        same = False
                        break
                if same:
                    return code
        slot = (slot + 1) & mask


@nb.njit(cache=True, nogil=True, _nrt=False, inline="always")
def _text_end(buf, p, hi, sep, seps):
    """Where the text field at ``p`` ends (at the separator, newline or ``hi``), or -1 on a
    quote or a lone CR (Arrow ends a line there too). Eight bytes at a time up to the
    first of those four bytes, then byte by byte."""
    while p + 8 <= hi:
        w = load_u64(buf, p)
        stops = (_zero_bytes(w ^ seps) | _zero_bytes(w ^ _NEWLINES) | _zero_bytes(w ^ _QUOTES)
                 | _zero_bytes(w ^ _CRS))
        if stops:
            p += np.int64(trailing_zeros(stops)) >> 3
            break
        p += 8
    while p < hi:
        c = buf[p]
        if c == sep or c == _NL:
            return p
        if c == _QUOTE or (c == _CR and p + 1 < hi and buf[p + 1] != _NL):
            return -1
        p += 1
    return p


@nb.njit(cache=True, nogil=True, _nrt=False)
def _parse(buf, lo, hi, sep, roles, trim, ints, floats, codes, row0, table, first, length,
           words, n_codes, kinds, float_from, minutes):
    """Parse the rows of buf[lo:hi] (whole lines) into ``ints`` (a row per numeric column;
    ``floats`` is the same memory as float64) and ``codes`` (a row per text column) from row
    ``row0`` on. A field's role: >= 0 the numeric column it goes to, _SKIP, or a text column
    ``_TEXT - role`` (its spaces around trimmed where ``trim[column]``: the symbol's).

    A numeric column's integers are stored as int64 until its first float (row
    ``float_from[column]``, -1 if none), as float64 from there on: a column that holds both
    turns its integers before that row into floats after (:func:`_typed`).

    ``minutes`` (a row of three per numeric column): the first 16 bytes of its last
    timestamp, as two words, and their :func:`_minute`.

    A numeric field is parsed where it stands and must end at the separator (the last at
    the line's end); a text field is scanned for its end. Returns (verdict, rows, field):
    _NOT_PLAIN on anything this reader does not take (``field``: where), _TABLE_FULL when
    a text column's codes outgrow ``table``.
    """
    n_fields = roles.shape[0]
    seps = np.uint64(sep) * _ONES  # (the separator in every byte)
    r = row0
    p = lo
    while p < hi:
        for f in range(n_fields):
            role = roles[f]
            if role >= 0:
                if p + 19 <= hi and buf[p + 4] == _MINUS and buf[p + 7] == _MINUS:
                    # (a date: no number has a minus there, "1.5e-7" has one at 4 only);
                    # its date, hour and minute read once for the rows that share them
                    a, b = load_u64(buf, p), load_u64(buf, p + 8)
                    if a != minutes[role, 0] or b != minutes[role, 1]:
                        minutes[role, 0], minutes[role, 1] = a, b
                        minutes[role, 2] = np.uint64(_minute(buf, p))
                    kind, ns, q = _timestamp(buf, p, hi, np.int64(minutes[role, 2]))
                    ints[role, r] = ns
                else:
                    kind, i, x, q = _number(buf, p, hi)
                    if kind == _FLOAT and float_from[role] < 0:
                        float_from[role] = r
                    if float_from[role] < 0:
                        ints[role, r] = i
                    else:
                        floats[role, r] = x
                if kind == 0:
                    return _NOT_PLAIN, 0, f
                kinds[role] |= kind
            else:
                q = _text_end(buf, p, hi, sep, seps)
                if q < 0:
                    return _NOT_PLAIN, 0, f
                if role <= _TEXT:
                    d = _TEXT - role
                    s = p
                    t = q - 1 if f == n_fields - 1 and q > p and buf[q - 1] == _CR else q
                    if trim[d]:
                        while s < t and buf[s] == _SPACE:
                            s += 1
                        while t > s and buf[t - 1] == _SPACE:
                            t -= 1
                    if t == s:  # (Arrow: an empty field is missing)
                        return _NOT_PLAIN, 0, f
                    code = _text_code(buf, s, t, hi, d, table, first, length, words,
                                      n_codes[d])
                    if code < 0:
                        return _TABLE_FULL, 0, f
                    if code == n_codes[d]:
                        n_codes[d] += 1
                    codes[d, r] = code
            if f < n_fields - 1:
                if q >= hi or buf[q] != sep:
                    return _NOT_PLAIN, 0, f
            else:
                if q < hi and buf[q] == _CR:
                    q += 1
                if q < hi and buf[q] != _NL:
                    return _NOT_PLAIN, 0, f
            p = q + 1
        r += 1
    return _OK, r - row0, -1


def _cuts(buf: np.ndarray, lo: int, hi: int, parts: int) -> list[int]:
    """Offsets splitting buf[lo:hi] into up to ``parts`` pieces of whole lines."""
    cuts = [lo]
    for k in range(1, parts):
        at = max(cuts[-1], lo + (hi - lo) * k // parts)
        nl = _next_newline(buf, at, hi)
        if nl < 0:
            break
        cuts.append(nl + 1)
    cuts.append(hi)
    return sorted(set(cuts))


def _next_newline(buf: np.ndarray, at: int, hi: int) -> int:
    """The offset of the first newline in buf[at:hi], or -1: looked for in windows of 64 KB
    (a line is short; copying the rest of the file to search it cost 0.2 s at 572 MB)."""
    while at < hi:
        window = buf[at:min(at + (1 << 16), hi)].tobytes()
        nl = window.find(b"\n")
        if nl >= 0:
            return at + nl
        at += len(window)
    return -1


def read_plain_csv(source: Path | bytes, separator: str, keep: list[str] | None, symbol: str,
                   threads: int | None = None) -> pl.DataFrame | None:
    """The CSV file ``source`` (a path, or the text itself), with a header line, as Arrow's
    reader gives it — the columns ``keep`` (None: all), in that order, ``symbol`` as an Enum
    of its names, the others typed — or None when it is not plain (see the module's
    docstring): read it another way then."""
    sep = separator.encode()
    if len(sep) != 1 or sep not in _SEPARATORS:
        return None
    if isinstance(source, bytes):
        buf = np.frombuffer(source, np.uint8)
    else:
        with source.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return None
            # (not closed here: the map goes when the last array over it does; closing it
            # while an exception's traceback still holds one would raise over that exception)
            try:
                buf = np.frombuffer(_mapped(fh.fileno()), np.uint8)
            except (OSError, ValueError):  # a file system that does not map files
                return None
    return _read(buf, sep[0], keep, symbol, threads or usable_cores())


def _mapped(fileno: int) -> mmap.mmap:
    """The file mapped read-only; on Linux with its pages mapped in advance (MAP_POPULATE:
    one call, where a fault per 16 pages as the parser first reads them took longer)."""
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        return mmap.mmap(fileno, 0, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ)
    return mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)


def _read(buf: np.ndarray, sep: int, keep: list[str] | None, symbol: str,
          threads: int) -> pl.DataFrame | None:
    nl = buf[: 1 << 16].tobytes().find(b"\n")
    if nl < 0:
        return None
    header = buf[:nl].tobytes().rstrip(b"\r")
    if header.startswith(b"\xef\xbb\xbf") or b'"' in header:
        return None
    try:
        names = header.decode().split(chr(sep))
    except UnicodeDecodeError:
        return None
    keep = names if keep is None else keep
    if not keep or len(set(names)) != len(names) or not set(keep) <= set(names):
        return None
    lo, hi = nl + 1, buf.shape[0]
    if hi <= lo:
        return None
    numeric = [n for n in keep if n != symbol]
    texts = [symbol] if symbol in keep else []
    # a column whose first value is not a number or a time is text (Databento's sides A/B/N,
    # Tardis' buy/sell); a later text in a numeric column still gives up
    line = _next_newline(buf, lo, hi)
    while (bad := _probe(buf, lo, hi if line < 0 else line + 1, sep, names, numeric, texts,
                         symbol)) is not None:
        if bad < 0 or names[bad] not in numeric:
            return None
        numeric.remove(names[bad])
        texts.append(names[bad])
    roles, trim = _roles(names, numeric, texts, symbol)
    cuts = _cuts(buf, lo, hi, max(1, min(threads, (hi - lo) // _PART_BYTES)))
    spans = list(zip(cuts[:-1], cuts[1:], strict=True))
    with ThreadPoolExecutor(len(spans)) as pool:
        counts = list(pool.map(lambda s: _count_lines(buf, *s), spans))
        rows = sum(counts)
        if rows == 0:
            return None
        ints = np.empty((len(numeric), rows), np.int64)
        floats = ints.view(np.float64)
        codes = np.empty((len(texts), rows), np.int32)
        small_pages(ints, codes)
        starts = np.cumsum([0, *counts[:-1]])
        capacity = 1 << 12
        while True:
            results = list(pool.map(partial(_parse_span, buf, sep, roles, trim, ints, floats,
                                            codes, capacity), spans, starts))
            if any(r is not None and r.verdict != _OK for r in results):
                return None
            if all(r is not None for r in results):
                break
            if capacity >= 1 << 24:
                return None
            capacity <<= 4  # (many symbols: a larger table, and parse again)
    if sum(r.rows for r in results) != rows:
        return None
    kinds = np.bitwise_or.reduce([r.kinds for r in results])
    columns = {}
    for name in keep:
        if name in texts:
            column = _text_column(name, buf, codes, texts.index(name), results,
                                  name != symbol)
        else:
            k = numeric.index(name)
            column = _typed(name, ints[k], int(kinds[k]), [(r.row0, r.rows, r.float_from[k])
                                                           for r in results])
        if column is None:
            return None
        columns[name] = column
    return pl.DataFrame(columns)


def _roles(names: list[str], numeric: list[str], texts: list[str], symbol: str
           ) -> tuple[np.ndarray, np.ndarray]:
    """Each of the file's columns' role in :func:`_parse`, and which text columns trim."""
    roles = np.array([numeric.index(n) if n in numeric else
                      _TEXT - texts.index(n) if n in texts else _SKIP for n in names], np.int64)
    return roles, np.array([n == symbol for n in texts], np.int64)


def _probe(buf, lo, hi, sep, names, numeric, texts, symbol) -> int | None:
    """The first line parsed with these roles: None if it parses, else the field it stopped
    at (-1 when not for a field's value)."""
    roles, trim = _roles(names, numeric, texts, symbol)
    ints = np.empty((len(numeric), 1), np.int64)
    result = _parse_span(buf, sep, roles, trim, ints, ints.view(np.float64),
                         np.empty((len(texts), 1), np.int32), 1 << 4, (lo, hi), 0)
    if result is not None and result.verdict == _OK:
        return None
    return -1 if result is None else result.field


class _Span(NamedTuple):
    """What one thread's parse of its lines gave (see :func:`_parse`)."""

    verdict: int
    row0: int  # its first row
    rows: int
    field: int  # where it stopped, if not _OK (-1: not at a field's value)
    first: np.ndarray  # per text column and code: where its text first appeared
    length: np.ndarray  # ... and how long it is
    n_codes: np.ndarray  # per text column: how many codes
    kinds: np.ndarray  # per numeric column: what its fields held, or'ed
    float_from: np.ndarray  # per numeric column: the row of its first float, or -1


def _parse_span(buf, sep, roles, trim, ints, floats, codes, capacity, span, row0
                ) -> _Span | None:
    """One thread's lines parsed, or None when a text column outgrew ``capacity``."""
    n_texts = codes.shape[0]
    table = np.full((n_texts, capacity), -1, np.int64)
    first = np.empty((n_texts, capacity // 2 + 1), np.int64)
    length = np.empty((n_texts, capacity // 2 + 1), np.int64)
    words = np.empty((n_texts, capacity // 2 + 1), np.uint64)
    n_codes = np.zeros(n_texts, np.int64)
    kinds = np.zeros(ints.shape[0], np.int64)
    float_from = np.full(ints.shape[0], -1, np.int64)
    minutes = np.zeros((ints.shape[0], 3), np.uint64)  # (no text's first word is 0)
    verdict, rows, field = _parse(buf, span[0], span[1], sep, roles, trim, ints, floats, codes,
                                  row0, table, first, length, words, n_codes, kinds,
                                  float_from, minutes)
    if verdict == _TABLE_FULL:
        return None
    return _Span(verdict, row0, rows, field, first, length, n_codes, kinds, float_from)


def _text_column(name: str, buf: np.ndarray, codes: np.ndarray, d: int,
                 results: list[_Span], typed: bool) -> pl.Series | None:
    """Text column ``d``: each thread's codes mapped to one list of names; None if a text is
    not UTF-8, or (``typed``: a column Arrow types by its values) if Arrow would read its
    values as anything but text (True/False as booleans, dates). The symbol column (not
    ``typed``) comes as an Enum of its names, the others as String."""
    names: dict[str, int] = {}
    luts = []
    for r in results:
        n = r.n_codes[d]
        try:
            mine = [buf[f:f + size].tobytes().decode()
                    for f, size in zip(r.first[d, :n], r.length[d, :n], strict=True)]
        except UnicodeDecodeError:
            return None
        luts.append([names.setdefault(text, len(names)) for text in mine])
    # each thread's codes to the column's, straight into the Enum's codes (u8 up to 255
    # names) for the symbol: one pass, a quarter of the memory
    out = codes[d] if typed else np.empty(codes.shape[1], enum_physical(len(names)))
    for r, lut in zip(results, luts, strict=True):
        rows = slice(r.row0, r.row0 + r.rows)
        recode(codes[d, rows], np.array(lut, out.dtype), out[rows])
    if not typed:
        return enum_column(name, out, list(names))
    if not _read_as_text(list(names)):
        return None
    return pl.Series(name, list(names), dtype=pl.String).gather(pl.Series(out))


def _read_as_text(values: list[str]) -> bool:
    """Whether Arrow's reader types a column of these values as text: asked of Arrow itself,
    on the distinct values (what it infers from)."""
    text = "\n".join(["column", *values, ""]).encode()
    table = pa_csv.read_csv(pa.BufferReader(text),
                            convert_options=pa_csv.ConvertOptions(null_values=[""]))
    return table.schema.field(0).type == pa.string()


def _typed(name: str, values: np.ndarray, kind: int,
           parts: list[tuple[int, int, int]]) -> pl.Series | None:
    """A numeric column as Arrow types it, or None where Arrow would read text. ``parts``:
    each thread's (first row, rows, row of its first float or -1)."""
    if kind == _INT:
        return pl.Series(name, values)
    if kind in (_FLOAT, _INT | _FLOAT):
        floats = values.view(np.float64)
        for row0, rows, float_from in parts:  # integers stored before a part's first float
            ints = slice(row0, row0 + rows if float_from < 0 else float_from)
            floats[ints] = values[ints]  # (NumPy buffers the overlapping copy)
        return pl.Series(name, floats)
    if kind in (_ZONED, _NAIVE):
        return pl.Series(name, values).cast(pl.Datetime("ns", "UTC" if kind == _ZONED
                                                        else None))
    return None
