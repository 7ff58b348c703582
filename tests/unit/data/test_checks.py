import numpy as np
import pytest

from cift.data.checks import (
    FINITE,
    NON_NEGATIVE,
    POSITIVE,
    first_breaking,
    first_breaking_each,
    narrowed,
)

VALUES = [1.0, 0.0, -0.0, -2.5, np.inf, -np.inf, np.nan, 1e308]
# which of VALUES break each rule, by hand
BREAKS = {FINITE: [False, False, False, False, True, True, True, False],
          NON_NEGATIVE: [False, False, False, True, True, True, True, False],
          POSITIVE: [False, True, True, True, True, True, True, False]}


@pytest.mark.parametrize("rule", [FINITE, NON_NEGATIVE, POSITIVE])
@pytest.mark.parametrize("at", [0, 1, 999, 10_000])
def test_the_first_breaking_value_is_found_anywhere(rule, at):
    for value, breaks in zip(VALUES, BREAKS[rule], strict=True):
        x = np.full(10_001, 3.0)
        x[at] = value
        x[-1] = value  # a later one too: the first wins
        assert first_breaking(x, rule) == (at if breaks else -1)


def test_clean_and_empty_columns():
    assert first_breaking(np.linspace(1.0, 2.0, 1000), POSITIVE) == -1
    assert first_breaking(np.empty(0), FINITE) == -1


def test_each_column_under_its_own_rule():
    a, b, c = np.full(500, 1.0), np.full(500, 1.0), np.full(500, 1.0)
    b[7], c[3] = -1.0, 0.0
    rows = first_breaking_each((a, b, c), np.array([FINITE, NON_NEGATIVE, POSITIVE]))
    assert rows.tolist() == [-1, 7, 3]
    assert first_breaking_each((a, b, c), np.array([FINITE, FINITE, NON_NEGATIVE])).tolist() \
        == [-1, -1, -1]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint64, np.uint16])
@pytest.mark.parametrize("bad", [None, 128, -129, 2**40])
def test_narrowing_copies_or_names_the_first_value_out_of_range(dtype, bad):
    x = np.random.default_rng(1).integers(-1, 2, 1000).astype(np.int64) + 1  # 0, 1, 2
    if bad is not None:
        x[[17, 500]] = bad
    x = x.astype(dtype)  # (a negative or huge value wraps in unsigned or narrow types)
    out = np.empty(1000, np.int8)
    fits = (x.astype(np.float64) >= -128) & (x.astype(np.float64) <= 127)
    row = narrowed(x, out, -128, 127)
    assert row == (-1 if fits.all() else int(np.argmin(fits)))
    if row < 0:
        assert (out.astype(np.int64) == x.astype(np.int64)).all()
