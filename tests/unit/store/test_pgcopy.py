"""The binary COPY codec against PostgreSQL's documented format, byte by byte."""

import itertools
import struct

import numpy as np
import pytest

from cift.store import pgcopy

COLS = [("a", "int8"), ("b", "int4"), ("c", "float8"), ("d", "int2")]


def test_encode_matches_the_documented_layout():
    data = pgcopy.encode(COLS, {"a": np.array([-2**40]), "b": np.array([7]),
                                "c": np.array([1.5]), "d": np.array([-1])})
    want = (b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
            + struct.pack(">h", 4)
            + struct.pack(">iq", 8, -2**40) + struct.pack(">ii", 4, 7)
            + struct.pack(">id", 8, 1.5) + struct.pack(">ih", 2, -1)
            + struct.pack(">h", -1))
    assert data.tobytes() == want


def test_round_trip():
    rng = np.random.default_rng(3)
    values = {"a": rng.integers(-2**62, 2**62, 1000), "b": rng.integers(-2**31, 2**31, 1000),
              "c": rng.standard_normal(1000), "d": rng.integers(-2**15, 2**15, 1000)}
    out = pgcopy.decode(COLS, pgcopy.encode(COLS, values))
    for k, v in values.items():
        np.testing.assert_array_equal(out[k], v)
        assert out[k].dtype.isnative


@pytest.mark.parametrize("n", [0, 1, 999, 1000, 1001, 4321])
def test_a_stream_in_pieces_is_the_whole_stream(n):
    rng = np.random.default_rng(n)
    values = {"a": rng.integers(-2**62, 2**62, n), "b": rng.integers(-2**31, 2**31, n),
              "c": rng.standard_normal(n), "d": rng.integers(-2**15, 2**15, n)}
    order = rng.permutation(n)[: n // 2 + 1] if n else None
    whole = pgcopy.encode(COLS, values, order).tobytes()
    pieces = [p.tobytes() for p in pgcopy.encode_pieces(COLS, values, order, piece_rows=1000)]
    assert b"".join(pieces) == whole
    assert len(pieces) == max(1, -(-(len(order) if n else 0) // 1000))
    out = pgcopy.decode(COLS, pieces)  # (as received: the same pieces)
    for k, v in values.items():
        np.testing.assert_array_equal(out[k], v if order is None else v[order])


def test_order_picks_and_orders_rows():
    values = {"a": np.array([10, 20, 30]), "b": np.array([1, 2, 3])}
    out = pgcopy.decode(COLS[:2], pgcopy.encode(COLS[:2], values, np.array([2, 0])))
    assert out["a"].tolist() == [30, 10] and out["b"].tolist() == [3, 1]


def test_several_streams_decode_one_after_the_other():
    first = {"a": np.array([1, 2]), "b": np.array([-1, -2])}
    second = {"a": np.array([3]), "b": np.array([-3])}
    empty = {"a": np.arange(0), "b": np.arange(0)}
    out = pgcopy.decode(COLS[:2], *(pgcopy.encode(COLS[:2], v) for v in (first, empty, second)))
    assert out["a"].tolist() == [1, 2, 3] and out["b"].tolist() == [-1, -2, -3]
    assert out["b"].dtype == np.int32
    good = pgcopy.encode(COLS[:2], first)
    with pytest.raises(ValueError, match="not a PostgreSQL binary COPY"):
        pgcopy.decode(COLS[:2], good, b"hello")  # a bad second stream is caught too


def test_a_stream_decodes_alike_in_whatever_chunks_it_arrived():
    rng = np.random.default_rng(4)
    values = {"a": rng.integers(-2**62, 2**62, 5), "b": rng.integers(-2**31, 2**31, 5),
              "c": rng.standard_normal(5), "d": rng.integers(-2**15, 2**15, 5)}
    data = pgcopy.encode(COLS, values).tobytes()
    cuts_tried = 0
    for step in (1, 2, 3, 7, 19, 29, 31, 64):  # cuts inside the header, rows and trailer
        for offset in range(step):
            cuts = [0, *range(offset or step, len(data), step), len(data)]
            chunks = [data[i:j] for i, j in itertools.pairwise(cuts)]
            out = pgcopy.decode(COLS, chunks, [data[:len(data) // 2], data[len(data) // 2:]])
            for k, v in values.items():
                np.testing.assert_array_equal(out[k], np.concatenate([v, v]))
            cuts_tried += 1
    assert cuts_tried > 100
    with pytest.raises(ValueError, match="whole rows"):  # a stream cut short
        pgcopy.decode(COLS, [data[:40], data[40:-1]])
    with pytest.raises(ValueError, match="not a PostgreSQL binary COPY"):
        pgcopy.decode(COLS, [data[:5]])  # not even a whole header


def test_decode_rejects_what_it_cannot_read():
    good = pgcopy.encode(COLS[:2], {"a": np.arange(3), "b": np.arange(3)}).tobytes()
    with pytest.raises(ValueError, match="not a PostgreSQL binary COPY"):
        pgcopy.decode(COLS[:2], b"hello" + good)
    with pytest.raises(ValueError, match="whole rows"):
        pgcopy.decode(COLS, good)  # other columns: the record size does not divide
    assert len(pgcopy.decode(COLS[:2], pgcopy.encode(COLS[:2], {"a": np.arange(0),
                                                               "b": np.arange(0)}))["a"]) == 0


def test_group_order_is_a_stable_grouping():
    from cift.store.batches import group_order

    key = np.random.default_rng(5).integers(0, 7, 5000)
    np.testing.assert_array_equal(group_order(key, 7), np.argsort(key, kind="stable"))
    assert len(group_order(np.zeros(0, np.int64), 3)) == 0


def test_rank_in_group_counts_each_groups_rows_in_order():
    from cift.store.batches import rank_in_group

    key = np.random.default_rng(6).integers(0, 7, 5000)
    want = [int((key[:i] == key[i]).sum()) for i in range(len(key))]  # rows of the group before
    np.testing.assert_array_equal(rank_in_group(key, np.zeros(7, np.int64)), want)
    first = np.arange(7, dtype=np.int64) << 32  # each group numbered from its own start
    np.testing.assert_array_equal(rank_in_group(key, first), first[key] + want)


@pytest.mark.parametrize("k", [1, 3, 40])
def test_time_order_of_per_symbol_runs(k):
    from cift.store.order import time_order

    rng = np.random.default_rng(k)
    n = 3000
    rank = rng.integers(0, k, n)
    ts = rng.integers(0, 50, n)  # many ties, within and across symbols
    seq = np.arange(n)
    want = np.lexsort((seq, rank, ts))
    # rows arrive in runs (a symbol's day), each in (ts, seq) order, runs shuffled
    day = rng.integers(0, 4, n)
    arrive = np.lexsort((seq, ts, rng.permutation(4 * k)[rank * 4 + day]))
    order = time_order(ts[arrive], rank[arrive], seq[arrive], k)
    np.testing.assert_array_equal(arrive[order], want)
    assert time_order(ts[want], rank[want], seq[want], k) is None  # already in order
    # a symbol whose rows are out of order: a full sort still gives the order
    shuffled = rng.permutation(n)
    order = time_order(ts[shuffled], rank[shuffled], seq[shuffled], k)
    np.testing.assert_array_equal(shuffled[order], want)
