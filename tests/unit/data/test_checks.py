import numpy as np
import pytest

from cift.data.checks import FINITE, NON_NEGATIVE, POSITIVE, first_breaking, first_breaking_each

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
