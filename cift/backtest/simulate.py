"""The event engine: an order-level strategy over ticks and L1 quotes, or bars, of any
number of symbols, with one cash account.

>>> res = simulate(decide, ticks=ticks, quotes=quotes,  # doctest: +SKIP
...                latency="50us", fees_bps=0.5)
>>> res.orders, res.fills, res.positions, res.metrics, res.plot()  # doctest: +SKIP

``decide(ev, feat, out, params, state) -> int`` is called after every event (see
:mod:`cift.backtest.orders` for what it sees and how it places orders; the matching rules
are in :mod:`cift.backtest.exchange`). A Numba ``decide`` is compiled into the loop, with no
Python per event; any other callable runs in a Python loop over the same compiled kernels
(which run ahead of it in batches while no order is live) and gives the same orders and
fills.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numba as nb
import numpy as np
import polars as pl
from numba.core.registry import CPUDispatcher

from cift.backtest import exchange as ex
from cift.backtest import orders as o
from cift.backtest.entry import entry_point
from cift.backtest.market import MarketSources, market_sources
from cift.backtest.metrics import return_metrics
from cift.backtest.signals import as_number
from cift.data.schema import TS
from cift.data.timestamps import parse_duration
from cift.errors import ParameterError
from cift.strategy import Strategy

__all__ = ["SimulationResult", "simulate"]

_CHUNK = 1 << 20  # events per compiled call: the progress bar's step
_END, _FULL, _CHUNK_DONE = 0, 1, 2


@nb.njit(_nrt=False)
def _loop(decide, mkt, st, cfg, lcfg, feats, params, state, ev, out, budget):
    """Run up to ``budget`` events with ``decide`` compiled in; why it stopped."""
    sy = st[2]
    for _ in range(budget):
        if not ex.has_room(st, o.MAX_REQUESTS):
            return _FULL
        s = ex.on_event(mkt, st, cfg, lcfg, ev)
        if s < 0:
            return _END
        n = decide(ev, feats[int(sy[s, ex.S_ROW])], out, params, state)
        if n > 0:
            ex.submit(st, cfg, lcfg, out, n, ev)
    return _CHUNK_DONE


# The Python path runs ahead: one compiled call processes up to _AHEAD events and records
# what decide must see for each (its ev row, its feature row); Python then calls decide on
# them in order. Until decide asks for something, the events it saw were processed exactly
# as they would have been one by one. When it does ask, on event j of a batch, the events
# after j are undone (the batch's start state is restored and events 0..j replayed) and the
# requests are submitted. Only a batch that starts with no live order and no cancel in
# flight runs ahead (its events can then change nothing but the book, the marks, the
# counters and the equity samples, which the undo restores); otherwise one event at a time.
_AHEAD = 256
_MORE, _AT_END, _LOG_FULL = 0, 1, 2


@nb.njit(cache=True, _nrt=False, inline="always")
def _copy(dst, src):
    for i in range(src.shape[0]):
        dst[i] = src[i]


@nb.njit(cache=True, _nrt=False)
def _ahead(mkt, st, cfg, lcfg, ev, k, evs, rows, acct0, ist0, undo, undo_sym):
    """Process up to ``k`` events (one while orders are live), recording each one's ev in
    ``evs`` and feature row in ``rows`` (-1: no trade yet, the NaN row), and what undoes
    them. Returns (events processed, why it stopped, the last one's feature row)."""
    acct, ist, sy = st[0], st[1], st[2]
    live = (ist[ex.I_ACTIVE] + ist[ex.I_ORDERS] - ist[ex.I_ARRIVED]
            + ist[ex.I_KTAIL] - ist[ex.I_KHEAD])
    if live > 0:
        k = 1
    _copy(acct0, acct)
    _copy(ist0, ist)
    row = -1
    for m in range(k):
        if not ex.has_room(st, o.MAX_REQUESTS):
            return m, _LOG_FULL, row
        s = ex.next_symbol(mkt, st)
        if s < 0:
            return m, _AT_END, row
        undo_sym[m] = s
        _copy(undo[m], sy[s])
        ex.on_event(mkt, st, cfg, lcfg, ev)
        _copy(evs[m], ev)
        row = int(sy[s, ex.S_ROW])
        rows[m] = row
    return k, _MORE, row


@nb.njit(cache=True, _nrt=False)
def _rewind(mkt, st, cfg, lcfg, ev, m, j, acct0, ist0, undo, undo_sym):
    """Undo the ``m`` events of a run-ahead batch, then process its events 0..j again."""
    sy = st[2]
    for i in range(m - 1, -1, -1):
        _copy(sy[undo_sym[i]], undo[i])
    _copy(st[0], acct0)
    _copy(st[1], ist0)
    for _ in range(j + 1):
        ex.on_event(mkt, st, cfg, lcfg, ev)


def _python_loop(decide, mkt, st, cfg, lcfg, feats, params, state, ev, out, budget):
    """The same loop for a plain-Python ``decide``, running ahead of it (see _AHEAD).

    decide reads ``ev``, ``feat``, ``params`` and ``state`` as memoryviews of float64 rows
    made once: indexing one gives a Python float, about a fifth of the cost of a NumPy scalar
    in the arithmetic that follows, and no view object is made per event. Writes to ``state``
    land in its array, which carries over to the next chunk.
    """
    evs, rows = np.empty((_AHEAD, o.EV_FIELDS)), np.empty(_AHEAD, np.int64)
    fbuf = np.empty((_AHEAD, feats.shape[1]))  # the feature rows of a batch, copied in
    ev_rows, feat_rows = [memoryview(r) for r in evs], [memoryview(r) for r in fbuf]
    ev_now, p = memoryview(ev), memoryview(np.ascontiguousarray(params))
    mem = memoryview(state)
    acct0, ist0 = np.empty_like(st[0]), np.empty_like(st[1])
    undo, undo_sym = np.empty((_AHEAD, st[2].shape[1])), np.empty(_AHEAD, np.int64)
    scratch = (evs, rows, acct0, ist0, undo, undo_sym)
    ahead = entry_point(_ahead, mkt, st, cfg, lcfg, ev, 1, *scratch)
    rewind = entry_point(_rewind, mkt, st, cfg, lcfg, ev, 1, 1, *scratch[2:])
    submit = entry_point(ex.submit, st, cfg, lcfg, out, 1, ev)
    k, done = 1, 0
    while done < budget:
        m, why, last = ahead(mkt, st, cfg, lcfg, ev, min(k, budget - done), *scratch)
        k = min(2 * m, _AHEAD)  # a batch with no order: the next one may be twice as long
        if m == 1:  # the common case while orders are live: ev holds the event
            fbuf[0] = feats[last]
            n = decide(ev_now, feat_rows[0], out, p, mem)
            if n:
                submit(st, cfg, lcfg, out, int(n), ev)
                why, k = _MORE, 1
        else:
            np.take(feats, rows[:m], axis=0, out=fbuf[:m])
            for j in range(m):
                n = decide(ev_rows[j], feat_rows[j], out, p, mem)
                if n:
                    if j < m - 1:  # the events after j happened too early: undo them
                        rewind(mkt, st, cfg, lcfg, ev, m, j, *scratch[2:])
                    submit(st, cfg, lcfg, out, int(n), ev)
                    m, why, k = j + 1, _MORE, 1
                    break
        done += m
        if why != _MORE:
            return _END if why == _AT_END else _FULL
    return _CHUNK_DONE


def _grow(st: tuple) -> tuple:
    """Twice the room in every log (the used part copied) and in the cancel queue."""
    acct, ist, sy, ol, ot, fl, ft, active, eq_ts, eq, kq, kt, n_active, oc = st

    def bigger(a: np.ndarray, used: int) -> np.ndarray:
        b = np.empty((2 * a.shape[0], *a.shape[1:]), a.dtype)
        b[:used] = a[:used]
        return b

    # the cancel queue, unrolled from its head into slot 0 of a ring twice as long
    head, tail = ist[ex.I_KHEAD], ist[ex.I_KTAIL]
    order = np.arange(head, tail) % len(kt)
    kq2, kt2 = np.empty((2 * len(kt), ex.K_FIELDS)), np.empty(2 * len(kt), np.int64)
    kq2[:len(order)], kt2[:len(order)] = kq[order], kt[order]
    ist[ex.I_KHEAD], ist[ex.I_KTAIL] = 0, tail - head
    n_orders, n_fills = ist[ex.I_ORDERS], ist[ex.I_FILLS]
    active2 = np.empty((active.shape[0], 2 * active.shape[1]), np.int64)
    active2[:, :active.shape[1]] = active
    return (acct, ist, sy, bigger(ol, n_orders), bigger(ot, n_orders), bigger(fl, n_fills),
            bigger(ft, n_fills), active2, bigger(eq_ts, ist[ex.I_SAMPLES]),
            bigger(eq, ist[ex.I_SAMPLES]), kq2, kt2, n_active, bigger(oc, n_orders))


def _ns(value: int | str | dt.timedelta, name: str) -> int:
    if isinstance(value, str):
        return parse_duration(value, name=name)
    if isinstance(value, dt.timedelta):  # (exact to the microsecond it holds)
        value = value // dt.timedelta(microseconds=1) * 1_000
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name}: expected nanoseconds >= 0 or a duration like '50us', "
                             f"got {value!r}")
    return int(value)


def _number(name: str, value: float, low: float = 0.0, *, finite: bool = True) -> float:
    v = as_number(name, value)
    if math.isnan(v) or v < low or (finite and math.isinf(v)):
        raise ParameterError(f"{name}: expected a number >= {low}, got {value!r}")
    return v


def _features(strategy: Strategy, src: MarketSources, p: np.ndarray) -> np.ndarray:
    """The strategy's features per trade or bar, each symbol computed on its own rows; one
    extra NaN row for a symbol that has not traded yet (row -1)."""
    frame = src.trades
    if "close" not in frame.columns:
        frame = frame.with_columns(close=pl.col("price"))
    out = np.full((frame.height + 1, len(strategy.features)), np.nan)
    for code in range(len(src.symbols)):
        rows = np.flatnonzero(src.arrays[1] == code)  # the trades' symbol codes
        if rows.size:
            out[rows] = strategy.feature_matrix(frame[rows], p)
    return out


def _decision(decide: Strategy | Callable, params: Mapping | Sequence | None,
              src: MarketSources) -> tuple[Callable, np.ndarray, np.ndarray]:
    """(decide function, parameter vector, feature rows) of a Strategy or a bare function."""
    if isinstance(decide, Strategy):
        if not decide.orders:
            raise ParameterError(f"{decide.name}: its decide returns a target position; "
                                 "run it with cift.backtest.run (simulate needs "
                                 "Strategy(..., orders=True))")
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError("params: a Strategy takes its parameters by name (a dict)")
        p = decide.bind(**(params or {}))
        return decide.decide, p, _features(decide, src, p)
    if not callable(decide):
        raise ParameterError(f"decide: expected a function or a Strategy, got "
                             f"{type(decide).__name__}")
    if isinstance(params, Mapping):
        raise ParameterError("params: a bare decide function takes an array of numbers")
    try:
        p = np.asarray(params if params is not None else (), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ParameterError(f"params: expected numbers, got {params!r}") from None
    return decide, p, np.full((len(src.trades) + 1, 0), np.nan)


def simulate(decide: Strategy | Callable, *, ticks: pl.DataFrame | None = None,
             quotes: pl.DataFrame | None = None, bars: pl.DataFrame | None = None,
             params: Mapping | Sequence | None = None, latency: int | str = 0,
             fees_bps: float = 0.0, fixed_fee: float = 0.0, slippage_bps: float = 0.0,
             queue: bool = True, max_position: float = math.inf,
             max_notional: float = math.inf, allow_short: bool = False,
             init_cash: float = 100_000.0, every: str | int | None = None,
             periods_per_year: float | None = None, state_size: int = 16,
             progress: bool | None = None) -> SimulationResult:
    """Run an order-level strategy over market events; orders, fills, positions, equity.

    Parameters
    ----------
    decide : Strategy or callable
        ``decide(ev, feat, out, params, state) -> int`` (see :mod:`cift.backtest.orders`),
        or a ``Strategy(..., orders=True)`` whose features are computed per symbol on the
        ticks (their ``price`` read as ``close``) or bars.
    ticks, quotes, bars : pl.DataFrame
        Ticks and/or L1 quotes in the data model's schema, or bars (ts = bar open; decisions
        are taken at the bar's close and fill on a later bar). Each in time order.
    params : dict or sequence of float
        A Strategy's parameters by name, or the array a bare ``decide`` gets.
    latency : int ns or duration text
        From decision to market; an order never reaches the market before the next event.
    fees_bps, fixed_fee :
        Fees per fill: bps of the notional, and a fixed amount per order (its first fill).
    slippage_bps :
        Against market and stop fills on symbols with no quote (a quote's spread is the
        slippage when there is one). Limit orders fill at their price.
    queue :
        Queue-position model: a resting limit also fills once the volume traded at its price
        exceeds the size displayed ahead of it when it joined (the best level's size, never
        more than that level shows later). Without it a limit fills only when the market
        trades through it, or the other side's quote crosses it.
    max_position, max_notional :
        Per symbol, on the position should every open order on its side fill: an order that
        would pass either (units; units x price) is rejected.
    allow_short :
        Whether sells may take a position below zero (else they are rejected or cut).
    init_cash :
        Starting cash; buys are cut to what the cash pays for (no margin).
    every :
        Equity sampling: a duration ("1m"; the default for ticks and quotes) or None for
        each bar time.
    periods_per_year :
        For the metrics; default 252 for daily bars, else US-session periods of ``every``.
    state_size :
        Length of the float64 ``state`` decide keeps between calls (an array; a memoryview
        of it for a plain-Python decide, see :mod:`cift.backtest.orders`).
    progress :
        A progress bar (tqdm) for long runs; default: on above 5M events.

    Returns
    -------
    SimulationResult
    """
    src = market_sources(ticks=ticks, quotes=quotes, bars=bars)
    fn, p, feats = _decision(decide, params, src)
    lat = _ns(latency, "latency")
    if every is None:
        every_ns = 0 if src.bars else parse_duration("1m")
    elif (every_ns := _ns(every, "every")) == 0:
        raise ParameterError("every: must be longer than 0")
    cfg = np.zeros(ex.C_FIELDS)
    cfg[ex.C_FEE] = _number("fees_bps", fees_bps) * 1e-4
    cfg[ex.C_FIXED] = _number("fixed_fee", fixed_fee)
    cfg[ex.C_SLIP] = _number("slippage_bps", slippage_bps) * 1e-4
    cfg[ex.C_MAX_POS] = _number("max_position", max_position, finite=False)
    cfg[ex.C_MAX_NOTIONAL] = _number("max_notional", max_notional, finite=False)
    cfg[ex.C_SHORT], cfg[ex.C_QUEUE], cfg[ex.C_BARS] = bool(allow_short), bool(queue), src.bars
    cash = _number("init_cash", init_cash)
    if cash <= 0:
        raise ParameterError(f"init_cash: expected a positive amount, got {init_cash!r}")
    ppy = 252.0 if every_ns == 0 else 252 * 23_400e9 / every_ns
    if periods_per_year is not None:
        ppy = _number("periods_per_year", periods_per_year)
        if ppy == 0:
            raise ParameterError(f"periods_per_year: must be > 0, got {periods_per_year!r}")
    if not isinstance(state_size, int) or state_size < 0:
        raise ParameterError(f"state_size: expected an int >= 0, got {state_size!r}")
    lcfg = np.array([lat, every_ns], dtype=np.int64)
    st = _new_state(src, cash, every_ns)
    ev = np.full(o.EV_FIELDS, np.nan)
    out = np.zeros((o.MAX_REQUESTS, o.R_FIELDS))
    state = np.zeros(state_size)
    loop = _loop if isinstance(fn, CPUDispatcher) else _python_loop
    total = src.events
    bar = _progress(total, progress)
    while True:
        before = st[1][ex.I_TRADE] + st[1][ex.I_QUOTE]
        why = loop(fn, src.arrays, st, cfg, lcfg, feats, p, state, ev, out, _CHUNK)
        if bar is not None:
            bar.update(st[1][ex.I_TRADE] + st[1][ex.I_QUOTE] - before)
        if why == _END:
            break
        if why == _FULL:
            st = _grow(st)
    if bar is not None:
        bar.close()
    ex.finish(st, lcfg)
    return _result(st, src, cash, ppy, lat)


def _progress(total: int, progress: bool | None):
    if not (progress if progress is not None else total > 5_000_000):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="event", unit_scale=True, desc="simulate")


def _new_state(src: MarketSources, cash: float, every_ns: int) -> tuple:
    nsym = len(src.symbols)
    acct = np.zeros(ex.A_FIELDS)
    acct[ex.A_CASH] = cash
    ist = np.zeros(ex.I_FIELDS, dtype=np.int64)
    ist[ex.I_NEXT] = np.iinfo(np.int64).min  # the first event starts a bucket
    sy = np.zeros((nsym, ex.S_FIELDS))
    sy[:, (ex.S_BID, ex.S_BID_SIZE, ex.S_ASK, ex.S_ASK_SIZE, ex.S_PRICE, ex.S_SIZE)] = np.nan
    sy[:, ex.S_ROW] = -1
    ts = [a for a in (src.arrays[0], src.arrays[7]) if len(a)]
    span = (max(a[-1] for a in ts) - min(a[0] for a in ts)) if ts else 0
    samples = src.events if every_ns == 0 else min(src.events, span // every_ns + 1)
    # room for one request per event: the pages of an untouched np.empty cost nothing, so
    # a quiet strategy pays little and a busy one rarely grows (doubling: a copy)
    rows = max(4096, min(src.events, 1 << 24))
    return (acct, ist, sy, np.empty((rows, ex.O_FIELDS)), np.empty((rows, 2), np.int64),
            np.empty((rows, ex.F_FIELDS)), np.empty(rows, np.int64),
            np.zeros((nsym, 256), np.int64), np.zeros(samples + 2, np.int64),
            np.zeros(samples + 2), np.zeros((1024, ex.K_FIELDS)), np.zeros(1024, np.int64),
            np.zeros(nsym, np.int64), np.empty((rows, ex.OC_FIELDS), np.int8))


@nb.njit(cache=True)
def _order_columns(ol, ot, oc, n, nsym, latency):
    """The orders log as contiguous columns, labels as small codes: (float columns, time
    columns, codes, symbol codes). Numba allocates them, not NumPy: NumPy asks for huge
    pages, and on this VM a fresh huge page cost ~2 ms on first touch (12M orders: 3.7 s
    against 1.2 s with 4 KB pages, measured after a few runs of the engine)."""
    num = np.empty((5, n))  # qty, limit_px, filled, avg_price, fees
    times = np.empty((3, n), np.int64)  # ts, arrival_ts, done_ts
    codes = np.empty((5, n), np.int8)  # side, type, tif, status, reason
    sym = np.empty(n, np.int64)
    for i in range(n):
        num[0, i], num[2, i] = ol[i, ex.O_QTY], ol[i, ex.O_FILLED]
        num[1, i] = ol[i, ex.O_PRICE] if oc[i, ex.OC_TYPE] != o.MARKET else np.nan
        num[3, i], num[4, i] = ol[i, ex.O_AVG], ol[i, ex.O_FEES]
        times[0, i], times[1, i], times[2, i] = ot[i, ex.T_SUBMIT], \
            ot[i, ex.T_SUBMIT] + latency, ot[i, ex.T_DONE]
        codes[0, i] = oc[i, ex.OC_SIDE] > 0
        codes[1, i], codes[2, i] = oc[i, ex.OC_TYPE], oc[i, ex.OC_TIF]
        codes[3, i], codes[4, i] = oc[i, ex.OC_STATUS], oc[i, ex.OC_REASON]
        s = ol[i, ex.O_SYMBOL]
        sym[i] = int(s) if 0 <= s < nsym and s == int(s) else nsym  # nsym: none
    return num, times, codes, sym


def _labels(codes: np.ndarray, names: Sequence[str]) -> pl.Series:
    """Codes as a Polars Enum of ``names``: the names gathered by code (a third of the time
    of ``replace_strict`` over millions of orders)."""
    return pl.Series(names, dtype=pl.Enum(list(names))).gather(pl.Series(codes))


def _orders_frame(ol: np.ndarray, ot: np.ndarray, oc: np.ndarray, latency: int,
                  symbols: list[str]) -> pl.DataFrame:
    n = len(ol)
    names = pl.Series([*symbols, None], dtype=pl.String)
    num, times, codes, sym = _order_columns(ol, ot, oc, n, len(symbols), latency)
    done = times[2]
    return pl.DataFrame({
        "order_id": np.arange(n),
        "ts": pl.Series(times[0]).cast(TS),
        "arrival_ts": pl.Series(times[1]).cast(TS),
        "symbol": names.gather(sym),  # null: a rejected order that named no valid symbol
        "side": _labels(codes[0], ("sell", "buy")),
        "qty": num[0],
        "type": _labels(codes[1], (*o.TYPE_NAMES, "invalid")),
        "limit_px": num[1],
        "tif": _labels(codes[2], ("gtc", "ioc")),
        "status": _labels(codes[3], o.STATUS_NAMES),
        "filled": num[2],
        "avg_price": pl.Series(num[3]).fill_nan(None),  # null: nothing filled
        "fees": num[4],
        "reason": _labels(codes[4], o.REASON_NAMES),
        "done_ts": pl.Series(np.where(done >= 0, done, 0)).cast(TS).set(
            pl.Series(done < 0), None),
    })


def _fills_frame(fl: np.ndarray, ft: np.ndarray, symbols: list[str]) -> pl.DataFrame:
    f = fl.T.copy()  # columns, always a copy: a view would keep the log's whole capacity
    return pl.DataFrame({
        "order_id": f[ex.F_ORDER].astype(np.int64),
        "fill_id": np.arange(len(ft)),
        "ts": pl.Series(ft.copy()).cast(TS),
        "symbol": pl.Series(symbols, dtype=pl.String).gather(f[ex.F_SYMBOL].astype(np.int64)),
        "side": _labels((f[ex.F_SIDE] > 0).astype(np.int8), ("sell", "buy")),
        "qty": f[ex.F_QTY],
        "price": f[ex.F_PRICE],
        "fee": f[ex.F_FEE],
        "position": f[ex.F_POSITION],
        "maker": f[ex.F_MAKER] > 0,
    })


def _result(st: tuple, src: MarketSources, cash: float, ppy: float,
            latency: int) -> SimulationResult:
    acct, ist, sy, ol, ot, fl, ft, _, eq_ts, eq, *_, oc = st
    positions = pl.DataFrame({
        "symbol": pl.Series(src.symbols, dtype=pl.String),
        "position": sy[:, ex.S_POS],
        "avg_price": np.where(sy[:, ex.S_POS] != 0, sy[:, ex.S_AVG], np.nan),
        "mark": sy[:, ex.S_MARK],
        "value": sy[:, ex.S_POS] * sy[:, ex.S_MARK],
        "realized_pnl": sy[:, ex.S_REALIZED],
        "unrealized_pnl": sy[:, ex.S_POS] * (sy[:, ex.S_MARK] - sy[:, ex.S_AVG]),
        "fees": sy[:, ex.S_FEES],
        "traded": sy[:, ex.S_TRADED],
    })
    n, k, m = ist[ex.I_ORDERS], ist[ex.I_FILLS], ist[ex.I_SAMPLES]
    equity, stamps = eq[:m].copy(), eq_ts[:m].copy()
    returns = equity / np.concatenate([[cash], equity[:-1]]) - 1.0
    metrics = return_metrics(returns, ppy) if m else {}
    metrics |= {"orders": int(n), "fills": int(k),
                "invalid_cancels": int(ist[ex.I_BAD_CANCELS]), "fees": float(acct[ex.A_FEES]),
                "turnover": float(acct[ex.A_TRADED] / np.mean(equity)) if m else 0.0,
                "maker_share": float(np.mean(fl[:k, ex.F_MAKER])) if k else math.nan,
                "events": src.events}
    log = {"orders": (ol[:n], ot[:n], oc[:n], latency), "fills": (fl[:k], ft[:k]),
           "symbols": list(src.symbols)}
    return SimulationResult(positions, equity, stamps, metrics, cash, log)


@dataclass(frozen=True)
class SimulationResult:
    """What the event engine produced. ``orders`` and ``fills`` are built on first access
    (millions of orders take a second to label; many runs never look at them), and the
    engine's logs they are built from are let go then (61M orders: 5 GB).

    Attributes
    ----------
    orders : pl.DataFrame
        One row per order: order_id, ts (decided), arrival_ts, symbol, side, qty, type,
        limit_px (the limit or stop price), tif, status (pending, open, filled, cancelled,
        rejected), filled, avg_price, fees, reason (why rejected or cancelled), done_ts.
    fills : pl.DataFrame
        order_id, fill_id, ts, symbol, side, qty, price, fee, position (after the fill),
        maker (a resting limit filled at its price).
    positions : pl.DataFrame
        Per symbol at the end: position, avg_price, mark, value, realized_pnl (before fees),
        unrealized_pnl, fees, traded (notional).
    equity, equity_ts : np.ndarray
        The equity curve: cash plus positions at the mark, one sample per time bucket (ts =
        the bucket's start, as bars), UTC ns.
    metrics : dict
        Return metrics of the curve (see :mod:`cift.backtest.metrics`), orders, fills, fees,
        turnover (traded notional over mean equity), maker_share, events.
    """

    positions: pl.DataFrame
    equity: np.ndarray
    equity_ts: np.ndarray = field(repr=False)
    metrics: dict[str, float]
    init_cash: float
    _log: dict = field(repr=False)

    @cached_property
    def orders(self) -> pl.DataFrame:
        frame = _orders_frame(*self._log["orders"], self._log["symbols"])
        del self._log["orders"]
        return frame

    @cached_property
    def fills(self) -> pl.DataFrame:
        frame = _fills_frame(*self._log["fills"], self._log["symbols"])
        del self._log["fills"]
        return frame

    def equity_frame(self) -> pl.DataFrame:
        """ts, equity, drawdown from the running peak (the initial cash counting as one)."""
        peak = np.maximum.accumulate(np.concatenate([[self.init_cash], self.equity]))[1:]
        return pl.DataFrame({"ts": pl.Series(self.equity_ts).cast(TS), "equity": self.equity,
                             "drawdown": self.equity / peak - 1.0})

    def plot(self, title: str = "Simulation", symbol: str | None = None):
        """A Plotly figure: equity and drawdown over time, and with ``symbol`` its fills
        (buys and sells at their prices). ``.write_html(path)`` saves it as a report."""
        from cift.backtest.report import equity_figure

        fills = None
        if symbol is not None:
            known = self.positions["symbol"].to_list()
            if symbol not in known:
                raise ParameterError(f"symbol: {symbol!r} is not in this run ({known})")
            fills = self.fills.filter(pl.col("symbol") == symbol)
        return equity_figure(self.equity_frame(), self.metrics, title, fills)
