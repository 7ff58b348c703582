"""Batches: a frame's symbols as text or as an Enum give the same chunks and content hashes,
so a file read by cift's CSV reader (Enum symbols) and the same rows written as a frame
(String symbols) are recognized as one batch."""

import polars as pl

from cift.data.importer import read_market_file
from cift.store.batches import Batch
from cift.store.lake import Lake


def test_enum_symbols_give_the_chunks_of_text_symbols(market):
    ticks = market.ticks
    names = ticks["symbol"].unique().to_list()
    # categories in another order than the rows', and one no row uses
    enum = ticks.with_columns(pl.col("symbol").cast(pl.Enum(["unused", *sorted(names)[::-1]])))
    text, coded = Batch.of(ticks), Batch.of(enum)
    assert coded.chunks == text.chunks  # keys, symbols, days, rows, first/last ts, hashes
    assert coded.frame.equals(text.frame) and coded.ordered == text.ordered
    assert len({c.symbol for c in text.chunks}) == len(names)


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
