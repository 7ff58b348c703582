"""Batches: a frame's symbols as text or as an Enum give the same chunks and content hashes,
so a file read by cift's CSV reader (Enum symbols) and the same rows written as a frame
(String symbols) are recognized as one batch."""

import hashlib

import numpy as np
import polars as pl

import cift.store.batches as batches
from cift.data.importer import read_market_file
from cift.store.batches import Batch
from cift.store.lake import Lake

_MASK = (1 << 64) - 1
_M1, _M2, _M3 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9


def reference_digests(df: pl.DataFrame) -> dict[tuple[str, int], tuple[int, str]]:
    """(symbol, UTC day) -> (rows, digest), computed in plain Python from the format's
    description: per chunk, rows in time order (ties in row order), two 64-bit lanes folding
    ts then each value column's bits (a = (a ^ v) * M1, a ^= a >> 29; b = rotl((b + v) * M2,
    31)), then sha256 of "symbol, 0x1f, lanes in hex, rows", its first 24 hex digits."""
    ns = df["ts"].dt.epoch("ns").to_list()
    values = [df[c].cast(pl.Float64).to_numpy().view(np.int64).tolist() if df[c].dtype.is_float()
              else df[c].cast(pl.Int64).to_list() for c in df.columns if c not in ("ts", "symbol")]
    groups: dict[tuple[str, int], list[int]] = {}
    for i, (sym, t) in enumerate(zip(df["symbol"].cast(pl.String).to_list(), ns, strict=True)):
        groups.setdefault((sym, t // 86_400_000_000_000), []).append(i)
    out = {}
    for (sym, day), rows in groups.items():
        a, b = _M3, _M1
        for i in sorted(rows, key=lambda r: (ns[r], r)):
            for v in [ns[i], *(col[i] for col in values)]:
                v &= _MASK
                a = ((a ^ v) * _M1) & _MASK
                a ^= a >> 29
                b = ((b + v) * _M2) & _MASK
                b = ((b << 31) | (b >> 33)) & _MASK
        text = f"{sym}\x1f{a:016x}{b:016x}{len(rows)}"
        out[(sym, day)] = len(rows), hashlib.sha256(text.encode()).hexdigest()[:24]
    return out


def test_chunk_hashes_are_the_format_on_disk(market, monkeypatch):
    # in time order and not (a chunk out of order is hashed sorted), numbered in one block or
    # in a pipeline of small blocks
    for frame in (market.ticks.head(3000), market.ticks.head(3000).reverse()):
        for block in (1 << 18, 100):
            monkeypatch.setattr(batches, "_BLOCK", block)
            got = {(c.symbol, c.day): (c.rows, c.digest) for c in Batch.of(frame).chunks}
            assert got == reference_digests(frame)


def test_blocks_on_two_threads_give_the_chunks_of_one_pass(market, monkeypatch):
    whole = Batch.of(market.quotes)
    monkeypatch.setattr(batches, "_BLOCK", 1000)  # many blocks, the hash a block behind
    piped = Batch.of(market.quotes)
    assert piped.chunks == whole.chunks and piped.frame.equals(whole.frame)
    assert len(market.quotes) > 20 * 1000


def test_enum_symbols_give_the_chunks_of_text_symbols(market):
    ticks = market.ticks
    names = ticks["symbol"].unique().to_list()
    # categories in another order than the rows', and one no row uses
    enum = ticks.with_columns(pl.col("symbol").cast(pl.Enum(["unused", *sorted(names)[::-1]])))
    text, coded = Batch.of(ticks), Batch.of(enum)
    assert coded.chunks == text.chunks  # keys, symbols, days, rows, first/last ts, hashes
    assert coded.frame.equals(text.frame) and coded.ordered == text.ordered
    assert len({c.symbol for c in text.chunks}) == len(names)


def test_enum_codes_of_every_width_give_the_chunks_of_text(market):
    # 300 symbols: an Enum's codes are u16 (u8 holds 255); 70,000: u32
    for n_symbols in (300, 70_000):
        ticks = market.ticks.head(20_000).with_columns(
            symbol=pl.format("S{}", pl.int_range(pl.len()) % n_symbols))
        names = [f"S{i}" for i in range(n_symbols)]
        enum = ticks.with_columns(pl.col("symbol").cast(pl.Enum(names)))
        assert Batch.of(enum).chunks == Batch.of(ticks).chunks


def test_a_csv_read_by_the_plain_reader_is_the_batch_of_its_frame(market, tmp_path):
    path = tmp_path / "ticks.csv"
    market.ticks.write_csv(path)
    _, df = read_market_file(path, enum_symbols=True)
    assert isinstance(df.schema["symbol"], pl.Enum)  # (read by cift's reader, coded)
    _, text = read_market_file(path)  # by default, the data model's text
    assert text.schema["symbol"] == pl.String
    assert text.equals(df.with_columns(pl.col("symbol").cast(pl.String)))
    # either way round, the second store of the same rows finds every chunk
    first = Lake(tmp_path / "a")
    assert first.ingest(path).rows == market.ticks.height
    assert first.write_ticks(market.ticks).skipped_rows == market.ticks.height
    second = Lake(tmp_path / "b")
    assert second.write_ticks(market.ticks).rows == market.ticks.height
    assert second.ingest(path).skipped_rows == market.ticks.height
    assert first.ticks().equals(second.ticks()) and first.ticks().equals(market.ticks)
