import numpy as np
import polars as pl
import pytest

from cift.data import codes as codes_mod
from cift.data.codes import (
    StringViews,
    enum_as_text,
    enum_column,
    enum_physical,
    enums_as_text,
    recode,
    symbol_codes,
)
from cift.errors import DataError


def check(symbol: pl.Series) -> None:
    codes, first = symbol_codes(symbol)
    names = symbol.cast(pl.String).to_list()
    assert len(codes) == len(names)
    # independent reference: a Python dict in order of first appearance
    ref: dict[str, int] = {}
    for name in names:
        ref.setdefault(name, len(ref))
    assert codes.tolist() == [ref[n] for n in names]
    assert [names[i] for i in first] == list(ref)


@pytest.mark.parametrize("n_symbols", [1, 7, 600, 5000])  # 600 and 5000 grow the table
def test_codes_of_interleaved_strings(n_symbols):
    rng = np.random.default_rng(n_symbols)
    names = [f"S{i}.X" for i in range(n_symbols)]
    check(pl.Series([names[i] for i in rng.integers(0, n_symbols, 20_000)]))


def test_codes_of_odd_symbols_and_categoricals():
    s = pl.Series(["BRK.B", "^GSPC", "ES=F", "", "BRK.B", "é", "^GSPC"])
    check(s)
    check(s.cast(pl.Categorical))
    check(s.cast(pl.Enum(["ES=F", "^GSPC", "", "é", "BRK.B"])))


def test_hash_collision_falls_back_to_exact_codes(monkeypatch):
    # a hash that maps every symbol to the same value: the second hash catches it
    real = codes_mod._dense_codes
    calls = []

    def colliding(h1, h2):
        calls.append(h1 is h2)
        if h1 is h2:
            return real(h1, h2)
        return real(np.zeros_like(h1), h2)

    monkeypatch.setattr(codes_mod, "_dense_codes", colliding)
    # longer than 12 bytes: coded through the hashes, not the views
    check(pl.Series(["A.LONG.SYMBOL.1", "B.LONG.SYMBOL.2", "A.LONG.SYMBOL.1", "C"]))
    assert calls == [False, True]


def test_short_strings_are_coded_from_their_views(monkeypatch):
    def no_hashing(h1, h2):
        raise AssertionError("strings of <= 12 bytes need no hashes")

    monkeypatch.setattr(codes_mod, "_dense_codes", no_hashing)
    names = ["x" * n for n in range(13)] + ["abcd", "abce", "abcdefghijkl", "abcdefghijkm",
                                              "é", "ÆØÅ"]
    rng = np.random.default_rng(3)
    s = pl.Series([names[i] for i in rng.integers(0, len(names), 5000)])
    check(s)
    check(s[1234:4321])  # a slice: its views start past the buffer's first
    check(pl.concat([s[:100], s[100:]], rechunk=False))


def test_view_codes_ignore_bytes_past_an_inline_string():
    import pyarrow as pa

    # two views of "AB", the second with garbage where the Arrow format puts zeros
    views = np.zeros((3, 16), np.uint8)
    for row, tail in ((0, 0), (1, 0x5A), (2, 0)):
        views[row, 0] = 2
        views[row, 4:6] = np.frombuffer(b"AB", np.uint8)
        views[row, 6:] = tail
    views[2, 4:6] = np.frombuffer(b"AC", np.uint8)
    arr = pa.Array.from_buffers(pa.string_view(), 3, [None, pa.py_buffer(views.tobytes())])
    codes, first = symbol_codes(pl.Series(pl.from_arrow(arr)))
    assert codes.tolist() == [0, 0, 1] and first.tolist() == [0, 2]


def test_long_strings_anywhere_fall_back_to_hashes():
    check(pl.Series(["A", "B", "A"] * 100 + ["a symbol longer than twelve"] + ["B"]))


def test_null_symbol_is_an_error():
    with pytest.raises(DataError, match="symbol"):
        symbol_codes(pl.Series(["A", None]))


@pytest.mark.parametrize("names", [
    ["ACME", "BRK.B", "^GSPC"],
    ["", "x", "exactly12byt", "thirteen_byte", "a much longer symbol name", "ÆØÅ-été", "ES=F"],
])
def test_string_views_give_each_row_its_name(names):
    codes = np.random.default_rng(3).integers(0, len(names), 10_001)
    strings = StringViews(names)
    column = strings.column(strings.table[codes], name="sym")  # what kernels copy, row by row
    assert column.name == "sym" and column.dtype == pl.String
    assert column.to_list() == [names[c] for c in codes]
    assert column.filter(column == names[-1]).len() == int((codes == len(names) - 1).sum())


@pytest.mark.parametrize("n_names", [1, 254, 255, 65_534, 65_535, 70_000])  # u8/u16/u32 edges
def test_enum_column_of_codes_and_back_to_text(n_names):
    names = [f"S{i}" for i in range(n_names)][::-1] + [""]
    # the dtype of the codes is Polars' own for an Enum of that many names
    assert enum_physical(len(names)) == pl.Series(dtype=pl.Enum(names)).to_physical() \
        .to_numpy().dtype
    codes = np.random.default_rng(5).integers(0, len(names), 5_000).astype(np.int32)
    col = enum_column("sym", codes, names)
    assert col.name == "sym" and col.dtype == pl.Enum(names)
    expected = [names[c] for c in codes]
    assert col.cast(pl.String).to_list() == expected  # Polars' own cast as the reference
    text = enum_as_text(col)
    assert text.name == "sym" and text.dtype == pl.String and text.to_list() == expected


def test_frames_with_different_enums_concatenate_as_text():
    a = pl.DataFrame({"symbol": ["A", "B"], "x": [1, 2]}).with_columns(
        pl.col("symbol").cast(pl.Enum(["A", "B"])))
    b = pl.DataFrame({"symbol": ["C", "A"], "x": [3, 4]}).with_columns(
        pl.col("symbol").cast(pl.Enum(["C", "A"])))
    out = pl.concat([enums_as_text(a), enums_as_text(b)])
    assert out.schema == pl.Schema({"symbol": pl.String, "x": pl.Int64})
    assert out["symbol"].to_list() == ["A", "B", "C", "A"] and out["x"].to_list() == [1, 2, 3, 4]


def test_recode_in_place_and_into_another_dtype():
    codes = np.array([2, 0, 1, 2], np.int32)
    table = np.array([7, 8, 9], np.int32)
    out = np.empty(4, np.uint8)
    recode(codes, table.astype(np.uint8), out)
    assert out.tolist() == [9, 7, 8, 9] and codes.tolist() == [2, 0, 1, 2]
    recode(codes, table, codes)
    assert codes.tolist() == [9, 7, 8, 9]


def test_enum_as_text_keeps_nulls_and_slices():
    col = pl.Series("s", ["b", None, "a", "b"], dtype=pl.Enum(["a", "b"]))
    assert enum_as_text(col).to_list() == ["b", None, "a", "b"]
    assert enum_as_text(col[1:]).to_list() == [None, "a", "b"]


def test_string_views_of_no_rows():
    strings = StringViews(["A"])
    assert strings.column(np.empty((0, 2), np.uint64)).to_list() == []


@pytest.mark.parametrize("values", [
    [], [""], ["A"], [" A"], ["A "], ["AB", "C D"], ["ABCDEFGHIJKL"], ["ABCDEFGHIJK "],
    [" BCDEFGHIJKL"], ["ABCDEFGHIJKLM"], ["ABCDEFGHIJKL "], ["x" * 30, " y"], ["x" * 30 + " "],
    ["a", None, " b"], ["a", None], ["", "B", "é "], ["AAPL"] * 1000 + ["MSFT   "]])
def test_has_padding_agrees_with_polars_strings(values):
    s = pl.Series(values, dtype=pl.String)
    want = bool(s.str.starts_with(" ").any() or s.str.ends_with(" ").any())
    assert codes_mod.has_padding(s) == want
    assert codes_mod.has_padding(s.slice(1)) == bool(s.slice(1).str.starts_with(" ").any()
                                                     or s.slice(1).str.ends_with(" ").any())
