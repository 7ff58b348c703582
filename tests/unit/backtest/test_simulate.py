"""The event engine on hand-computed small cases: each order type, time in force, fee,
slippage, latency, queue and limit rule, then the Python path against the compiled one."""

from __future__ import annotations

import datetime as dt
import math
import sys

import numba as nb
import numpy as np
import polars as pl
import pytest

from cift.backtest import orders as o
from cift.backtest import simulate
from cift.errors import CiftError, DataError, ParameterError

GTC, IOC = o.GTC, o.IOC


@nb.njit
def scripted(ev, feat, out, params, state):
    """Places the orders of a script: rows of (after event #, type, symbol, qty, price, tif);
    a cancel's price is the order id it cancels."""
    i = state[0]
    state[0] += 1
    n = 0
    for r in range(params.shape[0] // 6):
        row = params[6 * r:6 * r + 6]
        if row[0] == i:
            if row[1] == o.CANCEL:
                n = o.cancel(out, n, row[4])
            elif row[1] == o.CANCEL_ALL:
                n = o.cancel_all(out, n, row[2])
            elif row[1] == o.MARKET:
                n = o.market(out, n, row[2], row[3])
            elif row[1] == o.STOP:
                n = o.stop(out, n, row[2], row[3], row[4])
            else:
                n = o.limit(out, n, row[2], row[3], row[4], row[5])
    return n


def script(*rows: tuple) -> list[float]:
    """Rows of (after event #, type, qty, price=0, tif=GTC, symbol=0)."""
    out = []
    for r in rows:
        at, typ, qty, price, tif, sym = (*r, *(0.0, GTC, 0)[len(r) - 3:])
        out += [at, typ, sym, qty, price, tif]
    return out


def at(ns_: list[int]) -> pl.Series:
    """Nanosecond timestamps (plain integers would be read as epoch seconds)."""
    return pl.Series(list(ns_), dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))


def ticks(*rows: tuple, symbol: str = "X") -> pl.DataFrame:
    """(ts, price, size) rows."""
    ts, price, size = zip(*rows, strict=True)
    return pl.DataFrame({"ts": at(ts), "symbol": symbol, "price": list(price),
                         "size": list(size)})


def quotes(*rows: tuple, symbol: str = "X") -> pl.DataFrame:
    """(ts, bid, bid size, ask, ask size) rows."""
    ts, bid, bsz, ask, asz = zip(*rows, strict=True)
    return pl.DataFrame({"ts": at(ts), "symbol": symbol, "bid_px": list(bid),
                         "bid_sz": list(bsz), "ask_px": list(ask), "ask_sz": list(asz)})


def run(params, **kw):
    kw.setdefault("every", "1ns")
    return simulate(scripted, params=params, **kw)


def ns(frame: pl.DataFrame, col: str = "ts") -> list[int]:
    return frame[col].dt.epoch("ns").to_list()


# a book: quote at 10 (99 / 101), trade at 20 (100), quote at 30 (100 / 102), trade at 40
Q = quotes((10, 99.0, 300.0, 101.0, 200.0), (30, 100.0, 100.0, 102.0, 100.0))
T = ticks((20, 100.0, 50.0), (40, 101.0, 50.0))


def test_market_order_fills_at_the_prevailing_ask_with_fees():
    res = run(script((0, o.MARKET, 10.0)), ticks=T, quotes=Q, fees_bps=10.0, fixed_fee=1.0)
    fill = res.fills.row(0, named=True)
    # decided after the quote at 10, reaches the market before the next event (20)
    assert (fill["price"], fill["qty"], ns(res.fills)) == (101.0, 10.0, [20])
    assert fill["fee"] == pytest.approx(1010 * 0.001 + 1.0)
    assert res.positions["position"].to_list() == [10.0]
    # equity at the end: cash + 10 at the last mid (101)
    cash = 100_000 - 1010 - 2.01
    assert res.equity[-1] == pytest.approx(cash + 10 * 101.0)
    assert res.orders["status"].to_list() == ["filled"]


def test_the_engine_logs_are_let_go_once_orders_and_fills_are_built():
    import gc
    import weakref

    res = run(script((0, o.MARKET, 10.0)), ticks=T, quotes=Q)
    logs = [weakref.ref(a.base) for a in (*res._log["orders"][:3], *res._log["fills"])]
    orders, fills = res.orders, res.fills
    gc.collect()
    assert [log() for log in logs] == [None] * len(logs)
    assert res.orders is orders and res.fills is fills and orders["qty"].to_list() == [10.0]


def test_latency_delays_the_fill_to_the_book_of_its_arrival():
    res = run(script((0, o.MARKET, 10.0)), ticks=T, quotes=Q, latency=25)
    # arrives at 35: the next event is the trade at 40, the book then is the quote of 30
    assert (res.fills["price"].to_list(), ns(res.fills)) == ([102.0], [40])
    assert ns(res.orders, "arrival_ts") == [35]
    # a timedelta is a latency too (whole microseconds)
    later = run(script((0, o.MARKET, 10.0)), ticks=T, quotes=Q,
                latency=dt.timedelta(microseconds=1))
    assert ns(later.orders, "arrival_ts") == [10 + 1_000]
    with pytest.raises(ParameterError, match="latency: expected nanoseconds >= 0"):
        run(script(), ticks=T, latency=dt.timedelta(microseconds=-1))


def test_market_sell_without_quotes_fills_at_the_next_trade_with_slippage():
    t = ticks((1, 100.0, 5.0), (2, 101.0, 5.0), (3, 99.0, 5.0))
    res = run(script((0, o.MARKET, 10.0), (1, o.MARKET, -10.0)), ticks=t, slippage_bps=10.0)
    assert res.fills["price"].to_list() == pytest.approx([101.0 * 1.001, 99.0 * 0.999])
    assert ns(res.fills) == [2, 3]
    assert res.fills["maker"].to_list() == [False, False]


def test_resting_limit_fills_when_the_market_trades_through_it():
    t = ticks((1, 100.0, 5.0), (2, 99.5, 5.0), (3, 99.0, 5.0))
    res = run(script((0, o.LIMIT, 10.0, 99.5)), ticks=t, queue=False)
    # the trade at the limit (99.5) is not through it; the one at 99 is, and fills at 99.5
    assert (res.fills["price"].to_list(), ns(res.fills)) == ([99.5], [3])
    assert res.fills["maker"].to_list() == [True]


def test_queue_model_fills_after_the_volume_ahead_trades():
    q = quotes((1, 99.5, 300.0, 100.0, 100.0), (4, 99.5, 120.0, 100.0, 100.0))
    t = ticks((2, 99.5, 200.0), (3, 99.5, 50.0), (5, 99.5, 100.0), (6, 99.5, 100.0))
    params = script((0, o.LIMIT, 100.0, 99.5))
    res = run(params, ticks=t, quotes=q)
    # joins behind 300: 200 then 50 trade ahead (50 left), the bid shows 120 > 50 (no change),
    # then 100 trades: 50 ahead, 50 ours; then 100 more: our last 50
    assert res.fills["qty"].to_list() == [50.0, 50.0]
    assert ns(res.fills) == [5, 6]
    assert run(params, ticks=t, quotes=q, queue=False).fills.height == 0


def test_queue_shrinks_to_the_displayed_size():
    q = quotes((1, 99.5, 300.0, 100.0, 100.0), (3, 99.5, 20.0, 100.0, 100.0))
    t = ticks((4, 99.5, 70.0),)
    res = run(script((0, o.LIMIT, 100.0, 99.5)), ticks=t, quotes=q)
    # 300 ahead, then the level shows only 20: at most 20 ahead; 70 trade -> 50 ours
    assert res.fills["qty"].to_list() == [50.0]


def test_limit_better_than_the_best_has_no_queue_and_marketable_limit_takes():
    q = quotes((1, 99.0, 300.0, 101.0, 100.0),)
    t = ticks((2, 99.5, 30.0),)
    res = run(script((0, o.LIMIT, 100.0, 99.5), (0, o.LIMIT, 5.0, 102.0)), ticks=t, quotes=q)
    f = res.fills.sort("order_id")
    # the marketable buy at 102 takes the ask (101) on arrival; the 99.5 bid improves the
    # best (nobody ahead) and the 30 traded at 99.5 are ours
    assert f.select("order_id", "price", "qty", "maker").rows() == [
        (0, 99.5, 30.0, True), (1, 101.0, 5.0, False)]


def test_resting_limit_fills_when_the_other_side_crosses_it():
    q = quotes((1, 99.0, 10.0, 101.0, 10.0), (2, 98.0, 10.0, 99.4, 10.0))
    res = run(script((0, o.LIMIT, 3.0, 99.5)), quotes=q)
    assert res.fills.select("price", "qty", "maker").rows() == [(99.5, 3.0, True)]


def test_ioc_fills_what_is_marketable_else_cancels():
    q = quotes((1, 99.0, 10.0, 101.0, 10.0), (2, 99.0, 10.0, 101.0, 10.0))
    res = run(script((0, o.LIMIT, 1.0, 100.0, IOC), (0, o.LIMIT, 1.0, 101.0, IOC)), quotes=q)
    assert res.orders.select("status", "reason", "avg_price").rows() == [
        ("cancelled", "ioc not filled", None), ("filled", "", 101.0)]


def test_stop_triggers_on_a_trade_at_or_through_its_price():
    t = ticks((1, 100.0, 1.0), (2, 100.5, 1.0), (3, 101.2, 1.0), (4, 98.0, 1.0))
    res = run(script((0, o.STOP, 2.0, 101.0), (0, o.STOP, -1.0, 99.0)), ticks=t,
              slippage_bps=10.0, allow_short=True)
    # buy stop 101: triggers on 101.2 and fills there (+ slippage); sell stop 99 on 98
    assert res.fills.select("order_id", "price").rows() == [
        (0, pytest.approx(101.2 * 1.001)), (1, pytest.approx(98.0 * 0.999))]
    assert ns(res.fills) == [3, 4]


BARS = pl.DataFrame({
    "ts": at([0, 60, 120, 180]),
    "open": [100.0, 101.0, 98.0, 102.0],
    "high": [102.0, 103.0, 99.0, 104.0],
    "low": [99.0, 100.0, 96.0, 101.0],
    "close": [101.0, 99.0, 97.0, 103.0],
})


def test_bars_fill_on_a_later_bar_open_limit_and_stop_with_gaps():
    res = run(script((0, o.MARKET, 1.0), (0, o.LIMIT, 1.0, 100.5), (0, o.LIMIT, 1.0, 99.0),
                     (1, o.STOP, 1.0, 99.5), (1, o.LIMIT, -2.0, 103.5)),
              bars=BARS, slippage_bps=10.0, every=None)
    f = res.fills.sort("order_id")
    prices = dict(f.select("order_id", "price").rows())
    assert prices[0] == pytest.approx(101.0 * 1.001)  # market: the next bar's open + slippage
    assert prices[1] == 100.5  # bar 1 (low 100) trades through 100.5
    assert prices[2] == 98.0  # bar 2 opens below 99: filled at its open
    assert prices[3] == pytest.approx(102.0 * 1.001)  # stop 99.5: bar 2 (high 99) misses it,
    assert prices[4] == 103.5  # bar 3 opens above it at 102; its high 104 passes 103.5
    assert ns(res.fills.sort("order_id")) == [60, 60, 120, 180, 180]
    assert len(res.equity) == 4  # one sample per bar


def test_position_and_notional_limits_reject_orders():
    q = quotes((1, 99.0, 10.0, 101.0, 10.0), (2, 99.0, 10.0, 101.0, 10.0))
    res = run(script((0, o.LIMIT, 80.0, 99.0), (0, o.LIMIT, 30.0, 98.0),
                     (0, o.LIMIT, -80.0, 102.0)),
              quotes=q, max_position=100, allow_short=True)
    # 80 open to buy: 30 more could reach 110; the sell of 80 stays within -100
    assert res.orders.select("status", "reason").rows() == [
        ("open", ""), ("rejected", "position limit"), ("open", "")]
    res = run(script((0, o.LIMIT, 10.0, 99.0), (0, o.LIMIT, 11.0, 99.0)), quotes=q,
              max_notional=1000)
    assert res.orders["reason"].to_list() == ["", "notional limit"]


def test_short_selling_needs_allow_short():
    q = quotes((1, 99.0, 10.0, 101.0, 10.0), (2, 99.0, 10.0, 101.0, 10.0))
    res = run(script((0, o.MARKET, -10.0)), quotes=q)
    assert res.orders.select("status", "reason").rows() == [
        ("rejected", "short selling not allowed")]
    res = run(script((0, o.MARKET, -10.0)), quotes=q, allow_short=True)
    assert res.fills.select("price", "position").rows() == [(99.0, -10.0)]
    # cash 100000 + 990; short 10 valued at the mid (100)
    assert res.equity[-1] == pytest.approx(100_000 + 990 - 1000)


def test_buys_are_cut_to_the_cash():
    q = quotes((1, 99.0, 10.0, 100.0, 10.0), (2, 99.0, 10.0, 100.0, 10.0))
    res = run(script((0, o.MARKET, 20.0)), quotes=q, init_cash=1000.0, fees_bps=100.0)
    assert res.fills["qty"].to_list() == pytest.approx([1000 / (100 * 1.01)])
    assert res.orders.select("status", "reason").rows() == [("cancelled", "insufficient cash")]
    assert res.equity[-1] == pytest.approx(1000 / 1.01 * 99.5 / 100)


def test_cancel_requests_travel_with_latency():
    q = quotes((1, 99.0, 10.0, 101.0, 10.0), (5, 99.0, 10.0, 101.0, 10.0),
               (20, 98.0, 10.0, 99.0, 10.0))
    # a bid at 99.5 then its cancel: with no latency the cancel wins; with 16 ns latency the
    # cancel arrives after the ask crosses 99.5 at 20
    p = script((0, o.LIMIT, 1.0, 99.5), (1, o.CANCEL, 0.0, 0.0))
    res = run(p, quotes=q)
    assert res.orders.select("status", "reason").rows() == [("cancelled", "cancel request")]
    res = run(p, quotes=q, latency=16)
    assert res.orders.select("status", "reason").rows() == [("filled", "")]
    assert ns(res.fills) == [20]


def test_cancel_all_leaves_other_symbols_and_later_orders():
    qx = quotes((1, 99.0, 10.0, 101.0, 10.0), (3, 99.0, 10.0, 101.0, 10.0))
    qy = quotes((2, 9.0, 10.0, 11.0, 10.0), (4, 9.0, 10.0, 11.0, 10.0), symbol="Y")
    p = script((0, o.LIMIT, 1.0, 98.0, GTC, 0), (1, o.LIMIT, 1.0, 8.0, GTC, 1),
               (2, o.CANCEL_ALL, 0.0, 0.0, GTC, 0), (2, o.LIMIT, 1.0, 97.0, GTC, 0))
    res = run(p, quotes=pl.concat([qx, qy]).sort("ts"))
    assert res.orders.select("symbol", "status").rows() == [
        ("X", "cancelled"), ("Y", "open"), ("X", "open")]


def test_symbols_are_coded_by_name_whatever_order_each_source_shows_them():
    # trades show Y first, quotes X first: each source's codes map to the sorted names
    t = pl.concat([ticks((1, 50.0, 1.0), symbol="Y"), ticks((3, 10.0, 1.0))])
    q = pl.concat([quotes((2, 9.9, 5.0, 10.1, 5.0)), quotes((4, 49.0, 5.0, 51.0, 5.0),
                                                           symbol="Y")])
    p = script((0, o.MARKET, 1.0, 0.0, GTC, 1))  # symbol 1: "Y", the second name
    res = run(p, ticks=t, quotes=q)
    # Y had no quote when the order arrived: it fills at Y's first ask (ts 4), not X's
    assert res.fills.select("symbol", "price").rows() == [("Y", 51.0)]
    assert ns(res.fills) == [4]
    assert res.positions.select("symbol", "position").rows() == [("X", 0.0), ("Y", 1.0)]


def test_two_symbols_share_one_cash_account():
    t = pl.concat([ticks((1, 10.0, 1.0), (3, 11.0, 1.0), (5, 12.0, 1.0)),
                   ticks((2, 50.0, 1.0), (4, 40.0, 1.0), (6, 45.0, 1.0), symbol="Y")]).sort("ts")
    p = script((0, o.MARKET, 100.0, 0.0, GTC, 0), (1, o.MARKET, 10.0, 0.0, GTC, 1))
    res = run(p, ticks=t, init_cash=10_000.0)
    # X bought at its next trade (11), Y at its next (40)
    assert res.fills.select("symbol", "price").rows() == [("X", 11.0), ("Y", 40.0)]
    cash = 10_000 - 1100 - 400
    assert res.equity[-1] == pytest.approx(cash + 100 * 12 + 10 * 45)
    pos = res.positions.sort("symbol")
    assert pos["unrealized_pnl"].to_list() == pytest.approx([100.0, 50.0])
    assert res.equity_frame()["equity"].to_list()[:2] == [10_000.0, 10_000.0]


def test_realized_pnl_and_average_cost():
    t = ticks((1, 10.0, 1.0), (2, 10.0, 1.0), (3, 14.0, 1.0), (4, 12.0, 1.0), (5, 13.0, 1.0))
    p = script((0, o.MARKET, 10.0), (1, o.MARKET, 10.0), (3, o.MARKET, -15.0))
    res = run(p, ticks=t)
    pos = res.positions.row(0, named=True)
    # bought 10 at 10 and 10 at 14 (avg 12); sold 15 at 13: realized 15 * (13 - 12)
    assert pos["realized_pnl"] == pytest.approx(15.0)
    assert (pos["position"], pos["avg_price"]) == (5.0, pytest.approx(12.0))


def test_equity_is_sampled_per_bucket():
    t = ticks((1_000, 10.0, 1.0), (1_500, 11.0, 1.0), (2_100, 12.0, 1.0), (4_000, 13.0, 1.0))
    res = simulate(scripted, ticks=t, params=script((0, o.MARKET, 1.0)), every=1_000)
    # buckets starting at 1000, 2000, 4000 (3000 has no events): bought 1 at 11
    assert res.equity_ts.tolist() == [1_000, 2_000, 4_000]
    assert res.equity.tolist() == pytest.approx([100_000.0, 100_001.0, 100_002.0])


def test_python_decide_gives_the_same_orders_and_fills():
    from strategies import quote_both_sides

    from cift.data.synthetic import synthetic_market

    m = synthetic_market(2, 1, ticks_per_session=3000, seed=7)
    kw = {"ticks": m.ticks, "quotes": m.quotes, "params": [100.0, 300.0], "latency": "20us",
          "allow_short": True, "fees_bps": 0.2, "fixed_fee": 0.01}
    fast = simulate(quote_both_sides, **kw)
    slow = simulate(quote_both_sides.py_func, **kw)
    assert fast.fills.height > 100
    assert fast.orders.equals(slow.orders)
    assert fast.fills.equals(slow.fills)
    assert fast.positions.equals(slow.positions)
    np.testing.assert_array_equal(fast.equity, slow.equity)



def test_python_decide_that_trades_rarely_matches_the_compiled_path():
    # quiet stretches let the Python path run ahead of decide; an order in the middle of a
    # batch makes it undo the rest and replay (equity samples, book, marks and all)
    from cift.data.synthetic import synthetic_market

    m = synthetic_market(3, 1, ticks_per_session=2000, seed=11)
    p = script((37, o.MARKET, 5.0, 0.0, GTC, 0), (38, o.MARKET, 3.0, 0.0, GTC, 1),
               (700, o.LIMIT, 2.0, 1.0, GTC, 2), (701, o.STOP, -5.0, 1.0, GTC, 0),
               (1500, o.CANCEL, 0.0, 2.0), (2999, o.MARKET, -3.0, 0.0, GTC, 1),
               (4500, o.MARKET, 1.0, 0.0, IOC, 2))
    kw = {"ticks": m.ticks, "quotes": m.quotes, "params": p, "latency": "3ms",
          "fees_bps": 0.5, "every": "1s"}
    fast = simulate(scripted, **kw)
    slow = simulate(scripted.py_func, **kw)
    assert fast.orders.height == 6 and fast.fills.height >= 3  # the cancel is no order
    assert fast.orders.equals(slow.orders)
    assert fast.fills.equals(slow.fills)
    assert fast.positions.equals(slow.positions)
    np.testing.assert_array_equal(fast.equity, slow.equity)
    np.testing.assert_array_equal(fast.equity_frame()["ts"], slow.equity_frame()["ts"])

def test_orders_never_fill_on_the_event_that_decided_them():
    from strategies import quote_both_sides

    from cift.data.synthetic import synthetic_market

    m = synthetic_market(1, 1, ticks_per_session=3000, seed=3)
    res = simulate(quote_both_sides, ticks=m.ticks, quotes=m.quotes, params=[100.0, 300.0],
                   allow_short=True)
    joined = res.fills.join(res.orders.select("order_id", decided="ts"), on="order_id")
    assert joined.height > 0
    assert (joined["ts"] > joined["decided"]).all()


@pytest.mark.parametrize(("row", "reason"), [
    ((0, o.MARKET, 0.0), "invalid order"),
    ((0, o.LIMIT, 1.0, math.nan), "invalid order"),
    ((0, o.LIMIT, 1.0, -5.0), "invalid order"),
    ((0, o.LIMIT, 1.0, math.inf), "invalid order"),
    ((0, o.LIMIT, math.inf, 90.0), "invalid order"),
    ((0, o.MARKET, math.nan), "invalid order"),
    ((0, o.MARKET, 1.0, 0.0, GTC, 7), "invalid order"),  # no symbol 7
])
def test_invalid_requests_are_rejected_and_logged(row, reason):
    res = run(script(row), ticks=T, quotes=Q)
    assert res.orders.select("status", "reason").rows() == [("rejected", reason)]
    assert res.fills.height == 0


def test_too_many_requests_in_one_event_is_an_error():
    p = script(*[(0, o.LIMIT, 1.0, 90.0)] * (o.MAX_REQUESTS + 1))
    with pytest.raises(ValueError, match="MAX_REQUESTS"):
        run(p, ticks=T, quotes=Q)


def test_bad_market_data_and_arguments_are_clear_errors():
    with pytest.raises(DataError, match="must not decrease"):
        run([], ticks=ticks((2, 1.0, 1.0), (1, 1.0, 1.0)))
    with pytest.raises(DataError, match="price"):
        run([], ticks=ticks((1, math.nan, 1.0),))
    with pytest.raises(DataError, match="same ts"):
        run([], bars=pl.concat([BARS, BARS.head(1)]))
    with pytest.raises(ParameterError, match="not both"):
        run([], bars=BARS, ticks=T)
    with pytest.raises(ParameterError, match="no market data"):
        run([])
    with pytest.raises(ParameterError, match="latency"):
        run([], ticks=T, latency=-1)
    with pytest.raises(ParameterError, match="fees_bps"):
        run([], ticks=T, fees_bps=math.nan)
    with pytest.raises(ParameterError, match="fees_bps: expected a number, got '0.5'"):
        run([], ticks=T, fees_bps="0.5")  # (as from_signals: text is not a number)
    with pytest.raises(ParameterError, match="init_cash: expected a number, got True"):
        run([], ticks=T, init_cash=True)
    with pytest.raises(ParameterError, match="periods_per_year: must be > 0, got 0"):
        run([], ticks=T, periods_per_year=0)  # (was taken as 252, after the whole run)
    with pytest.raises(ParameterError, match="decide"):
        simulate(42, ticks=T)
    with pytest.raises(ParameterError, match=r"ticks: .*pandas.DataFrame \(polars.from_pandas"):
        run([], ticks=T.to_pandas())
    with pytest.raises(ParameterError, match=r"bars: .*polars.LazyFrame \(collect\(\) it"):
        run([], bars=BARS.lazy())
    assert issubclass(DataError, CiftError)



@pytest.mark.parametrize(("kw", "source", "row", "field"), [
    ({"ticks": ticks((1, 1.0, 1.0), (3, 2.0, 1.0), (2, 1.0, 1.0))}, "ticks", 3, "ts"),
    ({"quotes": quotes((1, 9.0, 1.0, 10.0, 1.0), (1, 9.0, 1.0, 10.0, 1.0),
                       (0, 9.0, 1.0, 10.0, 1.0))}, "quotes", 3, "ts"),
    ({"ticks": ticks((1, 1.0, 1.0), (2, 0.0, 1.0))}, "ticks", 2, "price"),
    ({"quotes": quotes((1, 9.0, 1.0, 10.0, 1.0), (2, -1.0, 1.0, 10.0, 1.0))}, "quotes", 2,
     "bid_px"),
    ({"quotes": quotes((1, 9.0, 1.0, 10.0, 1.0), (2, 9.0, 1.0, 10.0, 1.0),
                       (3, 9.0, 1.0, 0.0, 1.0))}, "quotes", 3, "ask_px"),
    # an empty symbol: named at its first row (the coded names are checked, not every row)
    ({"ticks": ticks((1, 1.0, 1.0), (2, 1.0, 1.0), (3, 1.0, 1.0)).with_columns(
        symbol=pl.Series(["A", "", ""]))}, "ticks", 2, "symbol"),
    ({"ticks": T, "quotes": quotes((1, 9.0, 1.0, 10.0, 1.0), (2, 9.0, 1.0, 10.0, 1.0),
                                   (3, 9.0, 1.0, 10.0, 1.0)).with_columns(
        symbol=pl.Series(["X", "X", ""]))}, "quotes", 3, "symbol"),
    ({"bars": BARS.with_columns(symbol=pl.Series(["A"] + [""] * (BARS.height - 1)))}, "bars",
     2, "symbol"),
])
def test_bad_market_rows_are_named(kw, source, row, field):
    with pytest.raises(DataError) as e:
        run([], **kw)
    assert (e.value.source, e.value.row, e.value.field) == (source, row, field)

def test_strategy_features_are_computed_per_symbol_on_the_ticks():
    from strategies import FIRST_ABOVE_AVERAGE

    from cift.data.synthetic import synthetic_market

    m = synthetic_market(3, 1, ticks_per_session=2000, seed=11)
    res = simulate(FIRST_ABOVE_AVERAGE, ticks=m.ticks, params={"n": 30})
    for sym, group in m.ticks.group_by("symbol"):
        price = group["price"].to_numpy()
        average = np.convolve(price, np.ones(30) / 30, mode="valid")  # from the 30th tick
        first = 29 + int(np.argmax(price[29:] > average))
        decided = res.orders.filter(pl.col("symbol") == sym[0])["ts"]
        assert decided.to_list() == [group["ts"][first]]


def test_python_decide_reads_features_as_the_compiled_one_does():
    # quiet stretches run ahead in batches whose feature rows are copied for decide: a
    # wrong row (off by one, or another symbol's) buys on another tick
    from dataclasses import replace

    from strategies import FIRST_ABOVE_AVERAGE

    from cift.data.synthetic import synthetic_market

    m = synthetic_market(3, 1, ticks_per_session=2000, seed=11)
    python = replace(FIRST_ABOVE_AVERAGE, decide=FIRST_ABOVE_AVERAGE.decide.py_func)
    kw = {"ticks": m.ticks, "quotes": m.quotes, "params": {"n": 30}, "latency": "1ms"}
    fast, slow = simulate(FIRST_ABOVE_AVERAGE, **kw), simulate(python, **kw)
    assert fast.orders.height == 3
    assert fast.orders.equals(slow.orders) and fast.fills.equals(slow.fills)


def test_python_decide_gets_python_floats():
    from cift.data.synthetic import synthetic_market

    seen = []

    def look(ev, feat, out, params, state):
        seen.append((type(ev[o.EV_BID]), type(params[0]), type(state[1]), len(feat),
                     np.asarray(ev).shape))
        return 0

    m = synthetic_market(1, 1, ticks_per_session=200, seed=2)
    simulate(look, ticks=m.ticks, quotes=m.quotes, params=[1.5])
    assert set(seen) == {(float, float, float, 0, (o.EV_FIELDS,))}


def test_python_decide_state_carries_over_between_chunks(monkeypatch):
    # decide writes its state through a view; the next chunk's view must see those writes
    from cift.data.synthetic import synthetic_market

    monkeypatch.setattr(sys.modules["cift.backtest.simulate"], "_CHUNK", 97)
    script = np.array([130, o.MARKET, 0, 1.0, 0, GTC, 401, o.MARKET, 0, -1.0, 0, GTC], float)
    m = synthetic_market(1, 1, ticks_per_session=300, seed=4)
    kw = {"ticks": m.ticks, "quotes": m.quotes, "params": script}
    fast, slow = simulate(scripted, **kw), simulate(scripted.py_func, **kw)
    assert fast.metrics["events"] > 500 and fast.fills.height == 2
    assert fast.orders.equals(slow.orders) and fast.fills.equals(slow.fills)


def test_run_and_simulate_check_the_kind_of_strategy():
    from strategies import FIRST_ABOVE_AVERAGE, SMA_CROSS

    from cift.backtest import run as run_target

    with pytest.raises(ParameterError, match="target position"):
        simulate(SMA_CROSS, bars=BARS)
    res = run_target(FIRST_ABOVE_AVERAGE, BARS.rename({"close": "price"}).with_columns(
        close=pl.col("price")), n=2)
    assert res.orders.height == 1  # an order strategy given to run goes to the event engine


def test_sweep_runs_an_order_strategy_on_the_event_engine():
    from strategies import FIRST_ABOVE_AVERAGE

    from cift.backtest import sweep

    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    bars = pl.DataFrame({"ts": at(np.arange(300) * 60_000_000_000), "open": close,
                         "high": close * 1.01, "low": close * 0.99, "close": close,
                         "price": close})
    grid = sweep(FIRST_ABOVE_AVERAGE, bars, engine="numba", n=[5, 20, 60], fees_bps=1.0)
    for row in grid.iter_rows(named=True):
        one = simulate(FIRST_ABOVE_AVERAGE, bars=bars, params={"n": row["n"]}, fees_bps=1.0)
        assert row["total_return"] == one.metrics["total_return"]
    assert grid["total_return"].n_unique() > 1


def test_cancels_in_flight_beyond_the_queue_length_keep_their_order():
    from strategies import quote_both_sides

    from cift.data.synthetic import synthetic_market

    # a latency of 30 minutes keeps thousands of requests in flight: the queue grows
    m = synthetic_market(2, 1, ticks_per_session=4000, seed=5)
    kw = {"ticks": m.ticks, "quotes": m.quotes, "params": [100.0, 300.0], "latency": "30m",
          "allow_short": True}
    fast = simulate(quote_both_sides, **kw)
    slow = simulate(quote_both_sides.py_func, **kw)
    assert fast.orders.height > 3000
    assert fast.orders.equals(slow.orders) and fast.fills.equals(slow.fills)
    cancelled = fast.orders.filter(pl.col("reason") == "cancel request")
    assert cancelled.height > 1000
    # a cancel never acts before its latency: nothing cancelled within 30 min of being sent
    waited = (cancelled["done_ts"] - cancelled["ts"]).dt.total_nanoseconds()
    assert waited.min() >= 1_800_000_000_000


def test_a_cancel_of_no_order_is_counted_and_dropped():
    res = run(script((0, o.LIMIT, 1.0, 90.0), (1, o.CANCEL, 0.0, 5.0)), ticks=T, quotes=Q)
    assert res.metrics["invalid_cancels"] == 1
    assert res.orders["status"].to_list() == ["open"]



def test_cancels_of_orders_that_do_not_rest_change_nothing():
    # order 0 is rejected (no symbol 7), order 1 fills at once; cancels of both arrive later
    p = script((0, o.MARKET, 1.0, 0.0, GTC, 7), (0, o.MARKET, 1.0), (1, o.CANCEL, 0.0, 0.0),
               (1, o.CANCEL, 0.0, 1.0), (1, o.LIMIT, 1.0, 90.0))
    res = run(p, ticks=T, quotes=Q)
    assert res.orders.select("status", "reason").rows() == [
        ("rejected", "invalid order"), ("filled", ""), ("open", "")]
    assert res.metrics["invalid_cancels"] == 0


@nb.njit
def _ladder(ev, feat, out, params, state):
    """A new bid on X below the market after each of the first params[0] events (never
    filled), one bid on Y, then cancel every order of X."""
    i = state[0]
    state[0] += 1
    if i == 0:
        return o.limit(out, 0, 1.0, 1.0, 5.0)
    if i < params[0]:
        return o.limit(out, 0, 0.0, 1.0, 50.0 - 0.01 * i)
    if i == params[0]:
        return o.cancel_all(out, 0, 0.0)
    return 0


def test_hundreds_of_orders_resting_on_one_symbol():
    # more resting orders on one symbol than its row of the book first holds (it grows)
    n = 700
    qx = quotes(*[(2 * k + 1, 99.0, 10.0, 101.0, 10.0) for k in range(n + 5)])
    qy = quotes((0, 9.0, 10.0, 11.0, 10.0), symbol="Y")
    kw = {"quotes": pl.concat([qy, qx]).sort("ts"), "params": [float(n)]}
    fast = simulate(_ladder, **kw)
    slow = simulate(_ladder.py_func, **kw)
    assert fast.orders.equals(slow.orders)
    orders = fast.orders
    assert orders.height == n
    assert orders.filter(pl.col("symbol") == "Y")["status"].to_list() == ["open"]
    x = orders.filter(pl.col("symbol") == "X")
    assert x.height == n - 1
    assert x.select("status", "reason").unique().rows() == [("cancelled", "cancel request")]
    assert fast.fills.height == 0

@nb.njit
def _unknown_request(ev, feat, out, params, state):
    state[0] += 1
    return o._request(out, 0, 9.0, 0.0, 1.0, 100.0, GTC) if state[0] == 1 else 0


def test_a_request_of_no_known_type_is_a_rejected_order():
    res = simulate(_unknown_request, ticks=T, quotes=Q)
    assert res.orders.select("type", "status", "reason").rows() == [
        ("invalid", "rejected", "invalid order")]


def test_plot_marks_one_symbols_fills(tmp_path):
    res = run(script((0, o.MARKET, 10.0), (2, o.MARKET, -10.0)), ticks=T, quotes=Q,
              every="10ns")
    fig = res.plot(symbol="X")
    buys, sells = fig.data[0], fig.data[1]
    assert list(buys.y) == [101.0] and list(sells.y) == [100.0]
    assert len(res.plot().data) == 2  # equity and drawdown only
    with pytest.raises(ParameterError, match="not in this run"):
        res.plot(symbol="NOPE")
    res.plot(symbol="X").write_html(tmp_path / "report.html")
    assert (tmp_path / "report.html").stat().st_size > 1000
