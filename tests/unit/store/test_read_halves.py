"""How a PostgreSQL read is split into two streams of about equal rows."""

from cift.store.postgres import _DAY_NS, _halves

OPEN = (-(2**63), 2**63 - 1)


def rows_of(parts, rows):
    """Rows per part, from rows[(symbol, day)]."""
    return [sum(n for (s, d), n in rows.items() if s in ids and lo <= d * _DAY_NS < hi)
            for ids, lo, hi in parts]


def counts(rows):
    by_symbol, by_day = {}, {}
    for (s, d), n in rows.items():
        by_symbol[s] = by_symbol.get(s, 0) + n
        by_day[d] = by_day.get(d, 0) + n
    return by_symbol, by_day


def test_symbols_of_unequal_activity_are_dealt_into_even_halves():
    rows = {(1, 0): 60, (2, 0): 30, (3, 0): 20, (4, 0): 10}  # one day: a time split can't help
    parts = _halves([1, 2, 3, 4], *counts(rows), *OPEN)
    assert sorted(rows_of(parts, rows)) == [60, 60]
    assert sorted(s for ids, _, _ in parts for s in ids) == [1, 2, 3, 4]


def test_one_busy_symbol_is_split_in_time_at_the_day_nearest_half_its_rows():
    rows = {(1, d): n for d, n in enumerate([10, 10, 35, 30, 15])} | {(2, 3): 5}
    parts = _halves([1, 2], *counts(rows), *OPEN)
    assert [ids for ids, _, _ in parts] == [[1, 2], [1, 2]]
    assert parts[0][1:] == (OPEN[0], 3 * _DAY_NS) and parts[1][1:] == (3 * _DAY_NS, OPEN[1])
    assert rows_of(parts, rows) == [55, 50]


def test_a_split_falls_inside_the_range_read():
    lo, hi = 1 * _DAY_NS + 5, 2 * _DAY_NS + 7  # in days 1 and 2 (the counts the read finds)
    by_symbol, by_day = {1: 20}, {1: 10, 2: 10}
    parts = _halves([1], by_symbol, by_day, lo, hi)
    assert parts == [([1], lo, 2 * _DAY_NS), ([1], 2 * _DAY_NS, hi)]
    assert _halves([1], {1: 10}, {1: 10}, lo, 2 * _DAY_NS) == [([1], lo, 2 * _DAY_NS)]


def test_without_counts_the_symbols_alternate_and_one_symbol_stays_whole():
    assert _halves([1, 2, 3], {}, {}, *OPEN) == [([1, 3], *OPEN), ([2], *OPEN)]
    assert _halves([7], {}, {}, *OPEN) == [([7], *OPEN)]
