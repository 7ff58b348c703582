import numpy as np
import polars as pl
import pytest

from cift.data import codes as codes_mod
from cift.data.codes import StringViews, symbol_codes
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
    check(pl.Series(["A", "B", "A", "C"]))
    assert calls == [False, True]


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


def test_string_views_of_no_rows():
    strings = StringViews(["A"])
    assert strings.column(np.empty((0, 2), np.uint64)).to_list() == []
