"""from_signals: hand-computed cases for each rule, vectorbt agreement, bad input."""

import pickle

import numpy as np
import polars as pl
import pytest

from cift import features
from cift.backtest import crossings, from_signals
from cift.errors import CiftError

CLOSE = np.array([10.0, 11.0, 12.0, 11.0, 13.0, 14.0])
OPEN = np.array([10.0, 10.5, 11.5, 11.5, 12.0, 13.5])


def signals(*bars, n=6):
    out = np.zeros(n, bool)
    out[list(bars)] = True
    return out


def test_next_open_fill_and_equity_by_hand():
    r = from_signals(CLOSE, signals(0), signals(2), open=OPEN, init_cash=100)
    size = 100 / 10.5  # all cash at bar 1's open
    want = [100, size * 11, size * 12, size * 11.5, size * 11.5, size * 11.5]
    np.testing.assert_allclose(r.equity, want, rtol=1e-15)
    t = r.trades.row(0, named=True)
    assert (t["entry_bar"], t["exit_bar"], t["open"]) == (1, 3, False)
    assert t["pnl"] == pytest.approx(size * 11.5 - 100, rel=1e-14)
    assert r.metrics["exposure"] == pytest.approx(2 / 6)  # long over bars 1 and 2


def test_without_open_fills_at_next_close():
    r = from_signals(CLOSE, signals(0), signals(2), init_cash=100)
    size = 100 / 11
    assert r.equity[-1] == pytest.approx(size * 11, rel=1e-15)  # sold at bar 3's close


def test_fees_and_slippage_by_hand():
    fee, slip, fixed = 10e-4, 20e-4, 1.0
    r = from_signals(CLOSE, signals(0), signals(2), open=OPEN, init_cash=100, fees_bps=10,
                     slippage_bps=20, fixed_fee=1.0)
    buy = 10.5 * (1 + slip)
    size = (100 - fixed) / (1 + fee) / buy
    sell = 11.5 * (1 - slip)
    cash = size * sell * (1 - fee) - fixed
    assert r.equity[-1] == pytest.approx(cash, rel=1e-14)
    t = r.trades.row(0, named=True)
    assert t["fees"] == pytest.approx(size * buy * fee + fixed + size * sell * fee + fixed)
    assert t["pnl"] == pytest.approx(cash - 100, rel=1e-12)


def test_long_flat_rules():
    # entry while long and exit while flat are ignored; entry and exit together do nothing
    r = from_signals(CLOSE, signals(0, 1, 3), signals(3, 4), open=OPEN, init_cash=100)
    assert r.trades.height == 1
    assert r.trades["entry_bar"].to_list() == [1] and r.trades["exit_bar"].to_list() == [5]
    none = from_signals(CLOSE, signals(0), signals(0), open=OPEN)
    assert none.trades.height == 0 and (none.equity == 100_000).all()


def test_an_open_trade_is_valued_at_the_last_close():
    r = from_signals(CLOSE, signals(2), signals(), init_cash=100)
    t = r.trades.row(0, named=True)
    assert t["open"] and t["exit_bar"] is None
    assert t["pnl"] == pytest.approx(100 / 11 * 14 - 100)
    assert r.metrics["trades"] == 1 and np.isnan(r.metrics["hit_rate"])
    # exits None: no exit signals (as in vectorbt); entries None: nothing happens
    held = from_signals(CLOSE, signals(2), None, init_cash=100)
    np.testing.assert_array_equal(held.equity, r.equity)
    idle = from_signals(CLOSE, None, signals(3), init_cash=100)
    assert idle.trades.height == 0 and (idle.equity == 100).all()


def test_no_look_ahead():
    # a signal on the last bar cannot trade; changing a future price cannot change the past
    r = from_signals(CLOSE, signals(5), signals(), open=OPEN)
    assert r.trades.height == 0
    a = from_signals(CLOSE, signals(0), signals(3), open=OPEN)
    later = CLOSE.copy()
    later[5] = 99.0
    b = from_signals(later, signals(0), signals(3), open=OPEN)
    np.testing.assert_array_equal(a.equity[:5], b.equity[:5])


@pytest.mark.parametrize("kwargs, match", [
    ({"close": np.array([1.0, np.nan, 2.0])}, "close: bar 1"),
    ({"close": np.array([1.0, -1.0, 2.0])}, "close: bar 1"),
    ({"close": np.array([1.0, 2.0, np.inf])}, "close: bar 2"),
    ({"open": np.array([1.0, 0.0, 2.0])}, "open: bar 1"),
    ({"entries": np.array([0, 2, 1])}, "entries"),
    ({"exits": np.array([True, False])}, "exits: 2 bars"),
    ({"open": ["a", "b", "c"]}, "open"),
    ({"fees_bps": -1}, "fees_bps"),
    ({"init_cash": 0}, "init_cash"),
    ({"close": np.ones((3, 2))}, "one series, got shape \\(3, 2\\) .*signal_grid"),
    ({"entries": np.ones((3, 1, 1), bool)}, "entries: expected one series"),
    ({"fees_bps": "1"}, "fees_bps: expected a number, got '1'"),
    ({"init_cash": None}, "init_cash: expected a number, got None"),
    ({"close": np.array([]), "entries": np.array([], bool), "exits": np.array([], bool)},
     "close: no bars"),
])
def test_bad_input_is_a_clear_error(kwargs, match):
    args = {"close": np.array([1.0, 2.0, 3.0]), "entries": np.array([True, False, False]),
            "exits": np.array([False, True, False])} | kwargs
    close, entries, exits = args.pop("close"), args.pop("entries"), args.pop("exits")
    with pytest.raises(CiftError, match=match):
        from_signals(close, entries, exits, **args)


def test_decimal_prices_are_numbers():
    # PostgreSQL's NUMERIC read by Polars is a Decimal column
    close = pl.Series(CLOSE).cast(pl.Decimal(10, 2))
    got = from_signals(close, signals(0), signals(2), init_cash=100)
    np.testing.assert_array_equal(got.equity, from_signals(CLOSE, signals(0), signals(2),
                                                           init_cash=100).equity)


def test_a_frame_of_one_column_is_a_series():
    close = np.array([1.0, 2.0, 3.0, 2.5])
    entries, exits = np.array([True, False, False, False]), np.array([False, False, True, False])
    want = from_signals(close, entries, exits)
    got = from_signals(pl.DataFrame({"c": close}), pl.DataFrame({"e": entries}).to_numpy(),
                       exits[:, None])
    np.testing.assert_array_equal(got.equity, want.equity)
    assert got.trades.equals(want.trades) and want.trades.height == 1


def test_polars_columns_and_their_warm_up_nulls():
    # the Polars way: rolling means are null over their warm-up, so are comparisons of them;
    # a null signal is no signal (as vectorbt reads NaN comparisons), a null price an error
    df = pl.DataFrame({"close": [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0]}).with_columns(
        fast=pl.col("close").rolling_mean(2), slow=pl.col("close").rolling_mean(3))
    entries, exits = df["fast"] > df["slow"], df["fast"] < df["slow"]
    assert entries.null_count() == 2
    got = from_signals(df["close"], entries, exits)
    want = from_signals(df["close"].to_numpy(), entries.fill_null(False).to_numpy(),
                        exits.fill_null(False).to_numpy())
    np.testing.assert_array_equal(got.equity, want.equity)
    assert got.trades.height == want.trades.height > 0
    with pytest.raises(CiftError, match="close: has 1 nulls"):
        from_signals(df["fast"], entries, exits)


def test_crossings_by_hand():
    a = np.array([1.0, 3.0, 2.0, 0.0, 5.0, np.nan, 4.0, 4.0])
    b = np.full(8, 2.0)
    up, down = crossings(a, b)
    # above: F T F F T F T T; below: T F F T F F F F (NaN is neither, and 2 == 2 neither)
    np.testing.assert_array_equal(up, [0, 1, 0, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(down, [1, 0, 0, 1, 0, 0, 0, 0])


def test_crossings_equal_the_numpy_construction():
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 5000)))
    fast, slow = features.sma(close, 10), features.sma(close, 50)  # NaN warm-ups
    with np.errstate(invalid="ignore"):
        above, below = fast > slow, fast < slow
    first = np.array([False])
    up, down = crossings(fast, slow)
    np.testing.assert_array_equal(up, above & ~np.concatenate([first, above[:-1]]))
    np.testing.assert_array_equal(down, below & ~np.concatenate([first, below[:-1]]))
    assert up.sum() > 10 and down.sum() > 10
    with pytest.raises(CiftError, match="length"):
        crossings(fast, slow[1:])


def crossover(close):
    fast, slow = features.sma(close, 10), features.sma(close, 50)
    above = np.nan_to_num(fast - slow) > 0
    below = np.nan_to_num(fast - slow) < 0
    prev_above = np.concatenate([[False], above[:-1]])
    prev_below = np.concatenate([[False], below[:-1]])
    return above & ~prev_above, below & ~prev_below


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sma_crossover_agrees_with_vectorbt(seed):
    import pandas as pd
    import vectorbt as vbt

    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000)))
    open_ = close * np.exp(rng.normal(0, 0.002, 3000))
    entries, exits = crossover(close)
    ours = from_signals(close, entries, exits, open=open_, fees_bps=1.0, init_cash=10_000)
    # vectorbt acts on the bar it is given: shift the signals one bar, fill at the open
    shift = lambda a: pd.Series(np.concatenate([[False], a[:-1]]))
    pf = vbt.Portfolio.from_signals(pd.Series(close), shift(entries), shift(exits),
                                    price=pd.Series(open_), fees=1e-4, init_cash=10_000)
    assert ours.trades.height == pf.trades.count() > 5
    assert ours.equity[-1] == pytest.approx(pf.final_value(), rel=1e-9)
    np.testing.assert_allclose(ours.equity, pf.value().to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
def test_random_signals_agree_with_vectorbt(seed):
    # irregular signals at every density, with entries while long, exits while flat and
    # bars with both (the engine runs the fills apart from the bars: any order must hold)
    import pandas as pd
    import vectorbt as vbt

    rng = np.random.default_rng(seed)
    n = 5000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.002, n))
    density = rng.choice([0.005, 0.05, 0.3], n)
    entries, exits = rng.random(n) < density, rng.random(n) < density
    ours = from_signals(close, entries, exits, open=open_, fees_bps=3.0, slippage_bps=2.0,
                        init_cash=10_000)
    def shift(a):
        return pd.Series(np.concatenate([[False], a[:-1]]))

    pf = vbt.Portfolio.from_signals(pd.Series(close), shift(entries), shift(exits),
                                    price=pd.Series(open_), fees=3e-4, slippage=2e-4,
                                    init_cash=10_000)
    assert ours.trades.height == pf.trades.count() > 50
    np.testing.assert_allclose(ours.equity, pf.value().to_numpy(), rtol=1e-9)
    assert ours.final_value == ours.equity[-1]


def reference_long_flat(close, price, entries, exits, cash, fee, fixed, slip):
    """The long/flat rules of the module notes, bar by bar in plain Python."""
    pos, equity, trades = 0.0, [cash], 0
    for j in range(1, len(close)):
        enter, leave = entries[j - 1], exits[j - 1]
        if enter and not leave and pos == 0.0 and cash > fixed:
            fill = price[j] * (1 + slip)
            pos = (cash - fixed) / (1 + fee) / fill
            cash -= pos * fill + pos * fill * fee + fixed
            trades += 1
        elif leave and not enter and pos > 0.0:
            gross = pos * price[j] * (1 - slip)
            cash += gross - (gross * fee + fixed)
            pos = 0.0
        equity.append(cash + pos * close[j])
    return np.array(equity), trades


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_signals_as_states_and_refused_entries_follow_the_rules(seed):
    # states (an entry on every bar above), runs of repeats, both at once, and a fixed fee
    # that leaves too little cash to enter again after losses
    rng = np.random.default_rng(seed)
    n = 3000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    fast, slow = features.sma(close, 5), features.sma(close, 20)
    cases = [(fast > slow, fast < slow), (rng.random(n) < 0.4, rng.random(n) < 0.4)]
    for entries, exits in cases:
        for cash, fixed in ((1_000.0, 0.0), (100.0, 8.0)):  # the second: ~6 trades, then none
            ours = from_signals(close, entries, exits, open=open_, fees_bps=10,
                                slippage_bps=5, fixed_fee=fixed, init_cash=cash)
            want, trades = reference_long_flat(close, open_, entries, exits, cash, 1e-3,
                                               fixed, 5e-4)
            np.testing.assert_allclose(ours.equity, want, rtol=1e-12)
            assert ours.trades.height == trades


def test_signals_at_every_place_of_short_runs_follow_the_rules():
    # the signal bars are read 8 at a time, then bar by bar for the rest: every length
    # around a multiple of 8, with signals in the words and in the rest
    rng = np.random.default_rng(3)
    for n in range(1, 27):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        for _ in range(20):
            entries, exits = rng.random(n) < 0.3, rng.random(n) < 0.3
            ours = from_signals(close, entries, exits, fees_bps=10, init_cash=1_000)
            want, trades = reference_long_flat(close, close, entries, exits, 1_000.0, 1e-3,
                                               0.0, 0.0)
            np.testing.assert_allclose(ours.equity, want, rtol=1e-12)
            assert ours.trades.height == trades


def test_final_value_turnover_and_exposure_from_the_curve_and_trades():
    rng = np.random.default_rng(6)
    n = 2000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    entries, exits = rng.random(n) < 0.03, rng.random(n) < 0.03
    for kwargs in ({}, {"short_entries": rng.random(n) < 0.02}):
        r = from_signals(close, entries, exits, fees_bps=5.0, init_cash=1_000, **kwargs)
        assert r.final_value == r.equity[-1]
        t = r.trades
        # traded notional: every fill's |size| x price (an open trade's exit is no fill)
        closed = t.filter(~t["open"])
        notional = ((t["size"].abs() * t["entry_price"]).sum()
                    + (closed["size"].abs() * closed["exit_price"]).sum())
        assert r.metrics["turnover"] == pytest.approx(notional / r.equity.mean(), rel=1e-12)
    flat = from_signals(close, entries, exits, init_cash=1_000)
    again = pickle.loads(pickle.dumps(flat))  # (the curve is computed on first access)
    assert np.array_equal(again.equity, flat.equity) and again.final_value == flat.final_value
    held = np.zeros(n, bool)
    for row in flat.trades.iter_rows(named=True):
        held[row["entry_bar"]:row["exit_bar"] if row["exit_bar"] is not None else n] = True
    assert flat.metrics["exposure"] == pytest.approx(held.mean())


def test_signal_grid_equals_from_signals_per_column():
    import polars as pl

    from cift.backtest import GRID_METRICS, signal_grid

    rng = np.random.default_rng(9)
    # (2003 bars: each combination's row of signals starts off an 8-byte boundary)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2003)))
    open_ = close * np.exp(rng.normal(0, 0.002, 2003))
    pairs = [(5, 20), (10, 50), (20, 100), (3, 7)]
    sig = [crossover_of(close, f, s) for f, s in pairs]
    entries = np.stack([e for e, _ in sig], axis=1)
    exits = np.stack([x for _, x in sig], axis=1)
    labels = pl.DataFrame({"fast": [f for f, _ in pairs], "slow": [s for _, s in pairs]})
    grid = signal_grid(close, entries, exits, open=open_, fees_bps=2, slippage_bps=1,
                       labels=labels)
    assert grid.columns == ["fast", "slow", *GRID_METRICS] and grid.height == len(pairs)
    for j, (e, x) in enumerate(sig):
        one = from_signals(close, e, x, open=open_, fees_bps=2, slippage_bps=1).metrics
        for name in GRID_METRICS:
            assert grid[name][j] == pytest.approx(one[name], rel=1e-12, nan_ok=True), name
    held = signal_grid(close, entries, None, open=open_)  # no exits: held to the end
    for j, (e, _) in enumerate(sig):
        one = from_signals(close, e, None, open=open_).metrics
        assert held["total_return"][j] == pytest.approx(one["total_return"], rel=1e-12)
        assert held["trades"][j] == one["trades"] == 1


def test_signal_grid_bad_shapes():
    from cift.backtest import signal_grid

    close = np.linspace(1, 2, 10)
    with pytest.raises(CiftError, match="shape"):
        signal_grid(close, np.zeros((9, 2), bool), np.zeros((9, 2), bool))
    with pytest.raises(CiftError, match="booleans"):
        signal_grid(close, np.zeros((10, 2)), np.zeros((10, 2), bool))
    with pytest.raises(CiftError, match="differ"):
        signal_grid(close, np.zeros((10, 2), bool), np.zeros((10, 3), bool))


def crossover_of(close, fast, slow):
    diff = features.sma(close, fast) - features.sma(close, slow)
    above, below = diff > 0, diff < 0
    return (above & ~np.concatenate([[False], above[:-1]]),
            below & ~np.concatenate([[False], below[:-1]]))


def test_index_labels_the_run_and_gives_monthly_returns():
    import datetime as dt

    import polars as pl

    days = pl.datetime_range(dt.datetime(2024, 1, 29), dt.datetime(2024, 3, 2), "1d",
                             time_zone="UTC", eager=True)
    n = len(days)
    close = np.linspace(100, 120, n)
    r = from_signals(close, signals(0, n=n), signals(n=n), init_cash=100, index=days)
    frame = r.equity_frame()
    assert frame.columns == ["ts", "equity", "drawdown"] and frame["ts"].equals(days.alias("ts"))
    monthly = r.monthly_returns()
    # independent: the last equity of each month over the last of the month before
    eq = pl.DataFrame({"ts": days, "equity": r.equity})
    last = eq.group_by(pl.col("ts").dt.month()).agg(pl.col("equity").last()).sort("ts")
    want = np.array(last["equity"]) / np.concatenate([[100], last["equity"][:-1]]) - 1
    assert monthly["month"].to_list() == [1, 2, 3]
    np.testing.assert_allclose(monthly["return"].to_numpy(), want, rtol=1e-14)
    assert r.plot_monthly().data[0].z.shape == (1, 3)
    assert np.datetime64(r.plot().data[0].x[0], "ns") == np.datetime64("2024-01-29T00:00")


@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_a_pandas_close_brings_its_dates(tz):
    # vectorbt's workflow: a pandas Series on a DatetimeIndex (yfinance's has a zone, which
    # was refused as "dtype object" even when passed as index=)
    pd = pytest.importorskip("pandas")
    days = pd.date_range("2024-01-29 09:30", periods=40, freq="D", tz=tz)
    close = pd.Series(np.linspace(100, 120, 40), index=days)
    r = from_signals(close, signals(0, n=40), signals(n=40))
    utc = days.tz_convert("UTC") if tz else days.tz_localize("UTC")
    assert r.equity_frame()["ts"].dt.epoch("ns").to_list() == list(utc.as_unit("ns").asi8)
    assert r.monthly_returns()["month"].to_list() == [1, 2, 3]
    given = from_signals(close.to_numpy(), signals(0, n=40), signals(n=40), index=days)
    assert given.equity_frame().equals(r.equity_frame())


@pytest.mark.parametrize("index, match", [
    (np.array([3, 2, 1, 4, 5, 6]), "must not decrease"),
    (np.array([1, 2, 2, 3, 4, 5]), "bar 2 repeats"),
    (np.array([1, 2, 3]), "3 timestamps"),
])
def test_bad_index(index, match):
    with pytest.raises(CiftError, match=match):
        from_signals(CLOSE, signals(0), signals(2), index=index)
    with pytest.raises(CiftError, match="index="):
        from_signals(CLOSE, signals(0), signals(2)).monthly_returns()


def test_short_entry_reverses_a_long_and_short_exit_covers_by_hand():
    close = [100.0, 101.0, 102.0, 99.0, 98.0, 103.0]
    open_ = [100.0, 100.5, 101.5, 100.0, 98.5, 102.0]
    le, lx = [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]
    se, sx = [0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]
    res = from_signals(close, le, lx, open=open_, short_entries=se, short_exits=sx,
                       fees_bps=10.0, init_cash=1000.0)
    f = 0.001
    long = 1000.0 / (100.5 * (1 + f))  # bought at bar 1's open with all the cash
    cash = long * 101.5 * (1 - f)  # sold at bar 2's open ...
    short = cash / (101.5 * (1 + f))  # ... and, in the same order, sold short
    cash += short * 101.5 * (1 - f)
    assert res.equity[2] == pytest.approx(cash - short * 102.0)
    assert res.equity[3] == pytest.approx(cash - short * 99.0)
    cash -= short * 98.5 * (1 + f)  # covered at bar 4's open
    assert res.equity[-1] == pytest.approx(cash)
    t = res.trades
    assert t["size"].to_list() == pytest.approx([long, -short])
    short_pnl = short * (101.5 - 98.5) - short * 101.5 * f - short * 98.5 * f
    assert t["pnl"][1] == pytest.approx(short_pnl)
    assert t["return"][1] == pytest.approx(short_pnl / (short * 101.5))
    assert res.metrics["exposure"] == pytest.approx(3 / 6)


def test_short_signal_conflicts_are_ignored():
    close = [10.0, 10.0, 11.0, 12.0]
    # a long and a short entry on one bar: nothing; a short entry with a short exit: nothing
    res = from_signals(close, [1, 0, 0, 0], [0, 0, 0, 0], short_entries=[1, 1, 0, 0],
                       short_exits=[0, 1, 0, 0], init_cash=100.0)
    assert res.trades.height == 0
    assert res.equity.tolist() == [100.0] * 4
    # without short signals the run stays long/flat: an exit never sells short
    assert from_signals(close, [0, 0, 0, 0], [1, 1, 0, 0]).trades.height == 0


@pytest.mark.parametrize(("fees", "fixed", "slippage"),
                         [(0.0, 0.0, 0.0), (1e-3, 1.0, 0.0), (5e-4, 0.5, 2e-4)])
def test_long_short_signals_agree_with_vectorbt(fees, fixed, slippage):
    import pandas as pd
    import vectorbt as vbt

    rng = np.random.default_rng(int(fees * 1e4 + fixed * 10))
    n = 2000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.002, n))
    le, lx, se, sx = (rng.random(n) < 0.02 for _ in range(4))
    res = from_signals(close, le, lx, open=open_, short_entries=se, short_exits=sx,
                       fees_bps=fees * 1e4, fixed_fee=fixed, slippage_bps=slippage * 1e4,
                       init_cash=10_000)

    def next_bar(a):  # vectorbt acts on the bar of the signal; cift on the next one
        return pd.Series(np.concatenate([[False], a[:-1]]))

    pf = vbt.Portfolio.from_signals(pd.Series(close), next_bar(le), next_bar(lx),
                                    short_entries=next_bar(se), short_exits=next_bar(sx),
                                    price=pd.Series(open_), fees=fees, fixed_fees=fixed,
                                    slippage=slippage, init_cash=10_000)
    np.testing.assert_allclose(res.equity, pf.value().to_numpy(), rtol=1e-9)
    assert res.trades.height > 40
