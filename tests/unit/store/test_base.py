"""What every server store shares (cift.store.base), without a server."""

import polars as pl
import pytest

from cift.store.base import rows_frame, symbol_groups


def test_fetched_rows_become_a_frame_column_by_column():
    schema = {"ts": pl.Int64, "symbol": pl.String, "price": pl.Float64}
    rows = [(3, "BRK.B", 1.5), (1, "x'; DROP TABLE ticks; --", 2.0)]
    want = pl.DataFrame({"ts": [3, 1], "symbol": ["BRK.B", "x'; DROP TABLE ticks; --"],
                         "price": [1.5, 2.0]}, schema=schema)
    assert rows_frame(rows, schema).equals(want)
    assert rows_frame([], schema).equals(pl.DataFrame(schema=schema))
    with pytest.raises(ValueError, match="expected 3"):  # never silently cut or padded
        rows_frame([(1, "A", 1.0), (2, "B")], schema)
    with pytest.raises(ValueError, match="expected 3"):
        rows_frame([(1, "A", 1.0, 9)], schema)


def test_symbol_groups_pack_small_symbols_in_order():
    rows = {"A": 4, "B": 4, "C": 12, "D": 1, "E": 9}
    assert list(symbol_groups("ABCDE", rows, 10)) == [["A", "B"], ["C"], ["D", "E"]]
    assert list(symbol_groups("ABCDE", rows, 100)) == [list("ABCDE")]
    assert list(symbol_groups(["A", "X"], rows, 1)) == [["A"], ["X"]]  # unknown: 0 rows
    assert list(symbol_groups([], rows, 10)) == []
