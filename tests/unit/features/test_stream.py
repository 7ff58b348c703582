"""Streaming twins: the same values as the batch functions, one value or many at a time, and
across a snapshot/restore (through msgpack, as the live runner stores it)."""

import pickle

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cift import features as ta
from cift.errors import ParameterError
from cift.features import stream

from market_data import DATASETS

STREAMED = sorted(n for n in stream.__all__ if n not in ("Stream", "restore"))
_ALIASES = {"real": "close", "price": "close", "bid_px": "low", "ask_px": "high",
            "bid_sz": "volume", "size": "volume"}


def _inputs(name: str, data: dict) -> list[np.ndarray]:
    return [data[_ALIASES.get(i, i)] for i in ta.REGISTRY[name].inputs]


def _with_book(data: dict, seed: int) -> dict:
    """Quote and trade fields from bars: bid/ask at low/high, sizes from volume, trade sides
    from price changes, timestamps with ties and gaps."""
    rng = np.random.default_rng(seed)
    n = len(data["close"])
    side = np.sign(np.diff(data["close"], prepend=data["close"][:1]))
    steps = rng.choice([0, 0, 1, 3, 50], n) * 100_000_000
    return {**data, "side": side, "ask_sz": data["volume"][::-1].copy(),
            "ts": 1_700_000_000_000_000_000 + np.cumsum(steps)}


def _tuple(out) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def assert_same(got, want, rtol=1e-9):
    for a, b in zip(_tuple(got), _tuple(want), strict=True):
        finite = np.isfinite(b)
        np.testing.assert_array_equal(a[~finite], b[~finite])  # NaN and inf where b has them
        scale = np.max(np.abs(b[finite]), initial=0)  # an inf would make any atol pass
        np.testing.assert_allclose(a[finite], b[finite], rtol=rtol, atol=rtol * scale)


@st.composite
def params(draw, name):
    values = {}
    for p in ta.REGISTRY[name].params:
        if p.duration:  # from below one update apart to many
            values[p.name] = draw(st.integers(int(p.lo), 3_000_000_000))
        elif p.integer:
            values[p.name] = draw(st.integers(int(p.lo), int(min(p.hi, 30))))
        elif p.lo > 0 and p.hi > 500:  # a size such as VPIN's bucket volume
            values[p.name] = draw(st.floats(0.5, 500.0))
        else:  # (T3's volume factor is in [0, 1], MAMA's limits in [0.01, 0.99])
            values[p.name] = draw(st.floats(max(p.lo, -3), min(p.hi, 3), allow_nan=False))
    return values


@st.composite
def grid_market(draw):
    """Prices on a tick grid: ties, flat runs and exact repeats everywhere."""
    n = draw(st.integers(1, 200))
    steps = np.array(draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n)), dtype=float)
    close = 1000.0 + np.cumsum(steps)
    spread = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    volume = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=float)
    return {"close": close, "high": close + spread, "low": close - spread, "volume": volume}


@st.composite
def market(draw):
    seed = draw(st.integers(0, 2**16))
    if draw(st.booleans()):
        return _with_book(draw(grid_market()), seed)
    data = DATASETS[draw(st.sampled_from(sorted(DATASETS)))]
    n = len(data["close"])
    lo = draw(st.integers(0, n - 1))
    hi = draw(st.integers(lo + 1, min(n, lo + 700)))
    return _with_book({k: v[lo:hi] for k, v in data.items()}, seed)


_SETTINGS = settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", STREAMED)
@_SETTINGS
@given(data=st.data())
def test_update_many_equals_batch(name, data):
    values = data.draw(params(name))
    arrays = _inputs(name, data.draw(market()))
    want = getattr(ta, name)(*arrays, **values)
    assert_same(getattr(stream, name)(**values).update_many(*arrays), want)


@pytest.mark.parametrize("name", STREAMED)
@_SETTINGS
@given(data=st.data())
def test_update_one_by_one_equals_batch(name, data):
    values = data.draw(params(name))
    arrays = [a[:120] for a in _inputs(name, data.draw(market()))]
    want = _tuple(getattr(ta, name)(*arrays, **values))
    s = getattr(stream, name)(**values)
    got = [_tuple(s.update(*(a[i].item() for a in arrays))) for i in range(len(arrays[0]))]
    assert_same(tuple(np.array(col) for col in zip(*got)), want)


@pytest.mark.parametrize("name", STREAMED)
@_SETTINGS
@given(data=st.data())
def test_snapshot_restore_gives_the_same_tail(name, data):
    values = data.draw(params(name))
    arrays = _inputs(name, data.draw(market()))
    cut = data.draw(st.integers(0, len(arrays[0])))
    want = _tuple(getattr(ta, name)(*arrays, **values))
    first = getattr(stream, name)(**values)
    first.update_many(*(a[:cut] for a in arrays))
    wire = msgpack.packb(first.snapshot())
    restored = stream.restore(msgpack.unpackb(wire))
    pickled = pickle.loads(pickle.dumps(first))  # to a worker process, say
    tail = _tuple(restored.update_many(*(a[cut:] for a in arrays)))
    assert_same(tail, tuple(w[cut:] for w in want))
    assert_same(_tuple(pickled.update_many(*(a[cut:] for a in arrays))), tail)
    # the original is untouched by its snapshot and carries on the same way
    assert_same(first.update_many(*(a[cut:] for a in arrays)), tail)


@pytest.mark.parametrize("name", STREAMED)
@_SETTINGS
@given(data=st.data())
def test_update_and_update_many_take_turns(name, data):
    """One by one, then in bulk, then one by one again: each bulk loop picks up the state
    (counters, ring positions, running sums) the steps left, and the steps the loop's."""
    values = data.draw(params(name))
    arrays = _inputs(name, data.draw(market()))
    n = len(arrays[0])
    a = data.draw(st.integers(0, min(n, 40)))
    b = data.draw(st.integers(a, n))
    c = min(n, b + 40)
    want = tuple(w[:c] for w in _tuple(getattr(ta, name)(*arrays, **values)))
    s = getattr(stream, name)(**values)
    rows = [_tuple(s.update(*(x[i].item() for x in arrays))) for i in range(a)]
    bulk = _tuple(s.update_many(*(x[a:b] for x in arrays)))
    rows2 = [_tuple(s.update(*(x[i].item() for x in arrays))) for i in range(b, c)]
    got = tuple(np.concatenate([np.array([r[k] for r in rows], dtype=float), bulk[k],
                                np.array([r[k] for r in rows2], dtype=float)])
                for k in range(len(want)))
    assert_same(got, want)


def test_warm_up_is_nan_then_values():
    s = stream.ema(3)
    assert np.isnan(s.update(1.0)) and np.isnan(s.update(2.0))
    assert s.update(3.0) == 2.0  # seeded by the mean of the first three
    assert s.update(4.0) == 2.0 * 0.5 + 4.0 * 0.5


def test_nan_input_poisons_every_later_output():
    s = stream.sma(2)
    s.update_many([1.0, 2.0, 3.0])
    assert np.isnan(s.update(float("nan")))
    assert np.isnan(s.update_many([1.0, 2.0, 3.0])).all()
    assert s.reset().update_many([1.0, 2.0, 3.0]).tolist()[1:] == [1.5, 2.5]


def test_nans_before_the_first_value_are_skipped_as_the_batch_skips_them():
    nan = float("nan")
    s = stream.sma(2)
    assert np.isnan(s.update(nan)) and np.isnan(s.update_many([nan, nan])).all()
    got = s.update_many([1.0, 2.0, 3.0]).tolist()
    assert np.isnan(got[0]) and got[1:] == [1.5, 2.5]
    assert ta.sma(np.array([nan, nan, nan, 1.0, 2.0, 3.0]), 2)[4:].tolist() == [1.5, 2.5]
    assert np.isnan(s.update(nan)) and np.isnan(s.update(4.0))  # after the start: fatal


def test_multi_output_update_returns_a_tuple():
    s = stream.macd(3, 5, 2)
    outs = [s.update(float(x)) for x in range(1, 10)]
    line, signal, hist = outs[-1]
    assert hist == pytest.approx(line - signal)


def test_restore_in_place_continues():
    closes = np.linspace(100, 120, 50)
    a = stream.rsi(5)
    a.update_many(closes[:20])
    snap = a.snapshot()
    b = stream.rsi(5).restore(snap)
    assert_same(b.update_many(closes[20:]), ta.rsi(closes, 5)[20:])


@pytest.mark.parametrize("make, match", [
    (lambda: stream.ema(0), "timeperiod"),
    (lambda: stream.ema(2.5), "timeperiod"),
    (lambda: stream.bbands(20, "x"), "nbdevup"),
    (lambda: stream.ema(20, 30), "takes 1 parameters"),
    (lambda: stream.ema(window=5), "unexpected argument"),
    (lambda: stream.bbands(20, 2.0, nbdevup=3.0), "multiple values for 'nbdevup'"),
    (lambda: stream.atr(14).update_many([1.0], [1.0]), "expected 3 arrays"),
    (lambda: stream.atr(14).update_many([1.0, 2.0], [1.0], [1.0, 2.0]), "low: length 1"),
    (lambda: stream.ema(5).update_many(["a", "b"]), "real: expected numbers"),
    (lambda: stream.ema(5).restore(stream.sma(5).snapshot()), "'sma', not 'ema'"),
    (lambda: stream.ema(5).restore(stream.ema(6).snapshot()), "parameters"),
    (lambda: stream.restore({"feature": "nope"}), "snapshot"),
    (lambda: stream.ema(5).restore({**stream.ema(5).snapshot(), "state": [1.0]}), "state of 1"),
    # an MFI snapshot of before it kept its run of bars without flow: one value short
    (lambda: stream.mfi(3).restore({**stream.mfi(3).snapshot(), "state": [0.0] * 11}),
     "state of 11 values, expected 12 .*rebuild the stream from history"),
])
def test_bad_input_is_a_parameter_error(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_time_window_stream_rejects_time_going_back_and_overflow():
    s = stream.vwap_time("1s", capacity=2)
    s.update(10, 1.0, 1.0)
    with pytest.raises(ParameterError, match="ts: timestamps must not decrease"):
        s.update(9, 1.0, 1.0)
    s.update(11, 1.0, 1.0)
    with pytest.raises(ParameterError, match="capacity"):
        s.update(12, 1.0, 1.0)
    with pytest.raises(ParameterError, match="ts: timestamps must not decrease"):
        stream.realized_vol("1s").update_many([2_000_000_000, 1_000_000_000], [1.0, 1.0])


@pytest.mark.parametrize("make", [lambda: stream.vwap_time("1s"), lambda: stream.ofi_time("1s"),
                                  lambda: stream.realized_vol("1s")])
def test_a_batch_that_goes_back_in_time_changes_nothing(make):
    s = make()
    n = len(ta.REGISTRY[s.name].inputs) - 1
    second = 1_000_000_000
    s.update_many([5 * second, 6 * second], *[[1.0, 2.0]] * n)
    before = s.snapshot()
    with pytest.raises(ParameterError, match="ts: timestamps must not decrease"):
        s.update_many([4 * second, 7 * second], *[[1.0, 2.0]] * n)
    assert s.snapshot() == before
    with pytest.raises(ParameterError, match="ts: timestamps must not decrease"):
        s.update(4 * second, *[1.0] * n)
    assert s.snapshot() == before


def test_time_window_stream_survives_a_rebase_of_its_clock():
    # offsets from the first ts are rebased after 2**52 ns; the window must not notice
    ts = np.array([0, 1, 2**52 - 1, 2**52, 2**52 + 1, 2**53 + 5], dtype=np.int64)
    price = np.arange(1.0, 7.0)
    s = stream.vwap_time(3)
    assert_same(s.update_many(ts, price, np.ones(6)), ta.vwap_time(ts, price, np.ones(6), 3))


def test_update_rejects_non_numbers():
    with pytest.raises(TypeError):
        stream.ema(5).update("abc")


_TS6 = 1_700_000_000 * 10**9 + np.arange(6) * 100_000_000  # 0.1 s apart: 1 s holds all six
_OVER_CAPACITY = [
    ("ofi_time", [np.array([10.0, 10.1, 10.0, 10.2, 10.1, 10.0]), np.arange(1.0, 7.0) * 100,
                  np.array([10.2, 10.3, 10.2, 10.3, 10.3, 10.2]), np.arange(6.0, 0.0, -1) * 100]),
    ("vwap_time", [np.array([10.0, 10.1, 10.0, 10.2, 10.1, 10.0]), np.arange(1.0, 7.0) * 100]),
]


@pytest.mark.parametrize("name", ["ofi_time", "vwap_time"])
@_SETTINGS
@given(data=st.data())
def test_time_window_bulk_loop_runs_exactly_as_the_steps(name, data):
    """update_many in chunks gives the very values of update one by one, leaves the very same
    state after each chunk, and overflows a small ring at the same update (its bulk loop moves
    the window on the arrays once the events from before the call have left it)."""
    window = data.draw(st.integers(1, 3_000_000_000))
    capacity = data.draw(st.sampled_from([1, 2, 3, 8, 64, 1 << 16]))
    ts, *values = _inputs(name, data.draw(market()))
    arrays = [ts] + [v * 1.1 for v in values]  # sums that round: the order of terms shows
    n = len(ts)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    bulk, steps = (getattr(stream, name)(window, capacity=capacity) for _ in range(2))
    for lo, hi in zip([0, *cuts], [*cuts, n]):
        chunk = [a[lo:hi] for a in arrays]
        try:
            want = np.array([steps.update(*(a[i].item() for a in chunk)) for i in range(hi - lo)])
        except ParameterError as overflow:
            with pytest.raises(ParameterError, match=str(overflow)):
                bulk.update_many(*chunk)
            assert bulk.snapshot() == steps.snapshot()
            return
        np.testing.assert_array_equal(bulk.update_many(*chunk), want.reshape(-1))
        assert bulk.snapshot() == steps.snapshot()


@pytest.mark.parametrize("name", ["willr", "stoch"])
@_SETTINGS
@given(data=st.data())
def test_range_bulk_loop_runs_exactly_as_the_steps(name, data):
    """update_many in chunks (whole blocks of bars run from the arrays, the rings written at
    the end) gives the very values of update one by one and leaves the very same state, a NaN
    (in a block or not) included."""
    values = data.draw(params(name))
    arrays = [a.copy() for a in _inputs(name, data.draw(market()))]
    n = len(arrays[0])
    if data.draw(st.booleans()):
        arrays[data.draw(st.integers(0, 2))][data.draw(st.integers(0, n - 1))] = np.nan
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    bulk, steps = (getattr(stream, name)(**values) for _ in range(2))
    for lo, hi in zip([0, *cuts], [*cuts, n], strict=True):
        chunk = [a[lo:hi] for a in arrays]
        want = [_tuple(steps.update(*(a[i].item() for a in chunk))) for i in range(hi - lo)]
        got = _tuple(bulk.update_many(*chunk))
        for k, column in enumerate(got):
            np.testing.assert_array_equal(column, np.array([w[k] for w in want], dtype=float))
        assert bulk.snapshot() == steps.snapshot()


@pytest.mark.parametrize("name, columns", _OVER_CAPACITY)
def test_over_capacity_keeps_the_state_of_the_events_before(name, columns):
    """update_many stops at the event that overflows the ring, with the state the one-by-one
    path leaves: both go on alike once the window has moved past."""
    many, one = (getattr(stream, name)("1s", capacity=4) for _ in range(2))
    with pytest.raises(ParameterError, match="capacity"):
        many.update_many(_TS6, *columns)
    with pytest.raises(ParameterError, match="capacity"):
        for i in range(6):
            one.update(_TS6[i], *(c[i] for c in columns))
    assert many.snapshot()["state"] == one.snapshot()["state"]
    later = (_TS6[-1] + 5 * 10**9, *(c[0] for c in columns))
    assert many.update(*later) == one.update(*later)


@pytest.mark.parametrize("name", ["sma", "wma"])
def test_running_sums_do_not_drift_over_millions_of_updates(name):
    """A live stream runs for months: its running sums are taken afresh once a ring turn,
    so after three million updates it still equals the batch to 1e-9."""
    rng = np.random.default_rng(3)  # a walk on which a plain running WMA drifts 1e-7
    x = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 3_000_000)))
    s = getattr(stream, name)(30)
    got = np.concatenate([s.update_many(x[:1_000_000]), s.update_many(x[1_000_000:])])
    want = getattr(ta, name)(x, 30)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[29:], want[29:], rtol=1e-9, atol=0)  # each value, relative
