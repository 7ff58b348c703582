"""PostgreSQL's binary COPY format for fixed-width rows, built from and parsed into NumPy.

Every column cift copies is fixed width and NOT NULL (int2/int4/int8/float8; symbols travel
as int4 ids), so a row is a fixed-size record: a field count, then each field as a length and
its big-endian value. A NumPy structured dtype describes that record exactly, so a whole batch
is encoded by assigning columns into one array and decoded by viewing the received bytes,
with no per-row Python on either side.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["decode", "encode", "record_dtype"]

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = _SIGNATURE + struct.pack(">ii", 0, 0)  # flags, header extension length
TRAILER = struct.pack(">h", -1)

#: PostgreSQL type -> big-endian NumPy type of its binary form.
PG_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8"}


def record_dtype(columns: Sequence[tuple[str, str]]) -> np.dtype:
    """The structured dtype of one binary COPY row of ``(name, pg_type)`` columns."""
    fields: list[tuple[str, str]] = [("_n", ">i2")]
    for name, pg_type in columns:
        fields += [(f"_len_{name}", ">i4"), (name, PG_TYPES[pg_type])]
    return np.dtype(fields)


def encode(columns: Sequence[tuple[str, str]], values: Mapping[str, np.ndarray]) -> bytes:
    """A complete binary COPY stream (header, rows, trailer) of equal-length column arrays."""
    dtype = record_dtype(columns)
    n = len(values[columns[0][0]])
    rows = np.empty(n, dtype)
    rows["_n"] = len(columns)
    for name, _ in columns:
        rows[f"_len_{name}"] = dtype[name].itemsize
        rows[name] = values[name]  # converts to big-endian in one vectorized pass
    return b"".join((HEADER, rows.tobytes(), TRAILER))


def decode(columns: Sequence[tuple[str, str]], data: bytes | bytearray | memoryview
           ) -> dict[str, np.ndarray]:
    """Parse a binary COPY stream into native-endian column arrays.

    Raises ValueError when the stream is not binary COPY of exactly these columns (a NULL
    or a different column type would change the record size).
    """
    buf = memoryview(data)
    if bytes(buf[:len(_SIGNATURE)]) != _SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    (ext,) = struct.unpack_from(">i", buf, len(_SIGNATURE) + 4)
    start = len(HEADER) + ext
    body = buf[start:len(buf) - len(TRAILER)]
    dtype = record_dtype(columns)
    if len(body) % dtype.itemsize:
        raise ValueError(f"binary COPY body of {len(body)} bytes is not whole rows of "
                         f"{dtype.itemsize} bytes (a NULL or an unexpected column type)")
    rows = np.frombuffer(body, dtype)
    if len(rows) and (rows["_n"] != len(columns)).any():
        raise ValueError(f"binary COPY rows do not have {len(columns)} fields")
    return {name: rows[name].astype(PG_TYPES[t].replace(">", "="), copy=True)
            for name, t in columns}
