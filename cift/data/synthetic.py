"""A realistic synthetic market, deterministic by seed: trades and L1 quotes for N symbols.

The model, per symbol and session:

* Events arrive as a Poisson process whose intensity is U-shaped over the session (busy open
  and close, quiet lunch): exponential gaps on a uniform clock, mapped through the inverse CDF
  of ``1 + a (2u - 1)^2``. Symbols differ in activity (log-normal, mean 1).
* The efficient price moves by normal returns with stochastic volatility (a Heston/CIR
  variance, Euler steps truncated at zero), so calm and turbulent stretches alternate;
  overnight it jumps by a scaled normal log return.
* Quotes sit on a tick grid around it with a spread that widens with volatility, and sizes in
  round lots. Each event is a quote update or, with probability ``1 / quotes_per_trade``, a
  trade; the trade's side leans toward the heavier side of the book
  (P(buy) = 0.5 + 0.4 * imbalance), it prints at the touch, eats queue and nudges the price.
* Occasionally a symbol halts for 5–30 minutes mid-session (a gap with no events).

Symbols are simulated independently and in parallel, each from its own random streams
(:mod:`cift.data.rand`), so symbol i's data depends only on the seed and i, neither on how many
other symbols there are nor on the number of threads. A k-way merge then puts all events in
time order (ties by symbol name), in parallel over slices of the session. Sessions go one at
a time through the same buffers, so the memory beyond the output is one session's worth.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numba as nb
import numpy as np
import polars as pl

from cift.data.codes import StringViews
from cift.data.intrinsics import prefetch
from cift.data.pages import small_pages
from cift.data.rand import exponential, geometric, normal, stream_key, uniform_pair
from cift.data.schema import TS
from cift.data.timestamps import TimeLike, parse_duration, to_utc_ns
from cift.errors import ParameterError

__all__ = ["SyntheticMarket", "synthetic_market"]

_NAMES = ("ACME", "BOLT", "CRUX", "DYNA", "EPIC", "FLUX", "GRID", "HALO", "IONX", "JADE",
          "KITE", "LUMA", "MESA", "NOVA", "ORBT", "PIKE", "QUAD", "RIFT", "SOLR", "TIDE",
          "UNIT", "VOLT", "WAVE", "XENO", "YARD", "ZINC")

_EPOCH = dt.date(1970, 1, 1)
_DAY_NS = 86_400_000_000_000
_U_SHAPE = 3.0  # intensity at the open/close is 1 + a times that at midday
_HALT_PROB = 0.1
_CDF_GRID = 512
# a merge key is a time within the day (< 2^47 ns) shifted left by log2(symbols) bits
_MAX_SYMBOLS = 1 << 16
_AHEAD = 8  # events a merge prefetches ahead in each symbol's rows


class SyntheticMarket(NamedTuple):
    """Trades and quotes of a synthetic market, both in the data model of cift.data.schema."""

    ticks: pl.DataFrame
    quotes: pl.DataFrame


def _u_shape_grid(a: float) -> tuple[np.ndarray, np.ndarray]:
    """Knots (F(u), u) of the CDF of the U-shaped density ``1 + a (2u - 1)^2`` on [0, 1]."""
    grid_u = np.linspace(0.0, 1.0, _CDF_GRID)
    grid_f = (grid_u + a / 6.0 * ((2.0 * grid_u - 1.0) ** 3 + 1.0)) / (1.0 + a / 3.0)
    return grid_f, grid_u


@nb.njit(cache=True, nogil=True)
def _session(key, draw, rate, grid_f, grid_u, halt_lo, halt_hi, day_ns, length_ns,
             trade_prob, state, daily_vol, spread_bps, tick_inv, ts, rec, sides):
    """One symbol's session: a Poisson number of events, ``rate`` expected, at most
    ``len(ts)``, minus those in a halt.

    Writes each event's ts, its record (bid, ask, bid size, ask size, trade size) and its
    side (0 for a quote update, +-1 for a trade) and returns (events written, next draw of
    stream ``key``). ``state`` is (price, variance relative to ``daily_vol``^2, bid queue,
    ask queue), carried to the next session. No exp per event: the price compounds simple returns.
    """
    kappa, xi = 8.0, 1.2  # variance mean reversion (per session) and vol of vol
    price, var, b_sz, a_sz = state[0], state[1], state[2], state[3]
    inv_rate = 1.0 / rate
    slope = np.diff(grid_u) / np.diff(grid_f)  # of the inverse CDF between knots
    clock = 0.0  # a Poisson process of ``rate`` on [0, 1), then mapped to the U shape
    prev = 0.0
    j = 0
    m = 0
    while m < ts.shape[0]:
        clock += exponential(key, draw) * inv_rate
        draw += np.uint64(1)
        if clock >= 1.0:
            break
        while j < grid_f.shape[0] - 2 and grid_f[j + 1] < clock:
            j += 1
        u = grid_u[j] + (clock - grid_f[j]) * slope[j]
        if halt_lo <= u < halt_hi:
            continue
        dt = u - prev
        prev = u
        sq = np.sqrt(dt)
        rel_vol = np.sqrt(var)  # vol / daily_vol
        # Euler step; the pull toward 1 is capped so that a long gap (a halt) cannot overshoot
        var = max(0.0, 1.0 + (var - 1.0) * max(0.0, 1.0 - kappa * dt)
                  + xi * rel_vol * sq * normal(key, draw))
        price *= 1.0 + daily_vol * rel_vol * sq * normal(key, draw + np.uint64(1))
        rel_spread = spread_bps * 1e-4 * (0.6 + 0.8 * rel_vol)
        mid = price * tick_inv  # in ticks
        spread = max(1.0, np.floor(rel_spread * mid))
        b = np.floor(mid - spread / 2.0)
        # queues refresh now and then, so the imbalance wanders with some memory
        # (sizes: round lots of 100 plus a geometric count of extra lots, mean 3 or 1)
        q, t = uniform_pair(key, draw + np.uint64(2))
        refill = 100.0 * (1.0 + np.float64(geometric(key, draw + np.uint64(3), 2)))
        lots = 100.0 * (1.0 + np.float64(geometric(key, draw + np.uint64(4), 1)))
        draw += np.uint64(5)
        # selects, not branches: each of these is a coin toss a predictor cannot learn
        b_sz = refill if q < 0.3 else b_sz
        a_sz = refill if q > 0.7 else a_sz
        trade = t < trade_prob  # a trade: buys lean on a heavy bid queue, move the price up
        buy = t < trade_prob * (0.5 + 0.4 * (b_sz - a_sz) / (b_sz + a_sz))
        side = (1.0 if buy else -1.0) if trade else 0.0
        hit = a_sz if buy else b_sz  # the queue a trade eats
        size = min(lots, hit) if trade else 0.0
        left = hit - size if hit > size else 500.0
        a_sz = left if trade and buy else a_sz
        b_sz = left if trade and not buy else b_sz
        price *= 1.0 + side * 0.15 * rel_spread  # impact (none for a quote: side 0)
        ts[m] = day_ns + np.int64(u * length_ns)
        rec[m, 0], rec[m, 1] = b / tick_inv, (b + spread) / tick_inv
        rec[m, 2], rec[m, 3], rec[m, 4] = b_sz, a_sz, size
        sides[m] = np.int8(side)
        m += 1
    state[0], state[1], state[2], state[3] = price, var, b_sz, a_sz
    return m, draw


@nb.njit(cache=True, parallel=True)
def _simulate(owner, workers, keys, draws, rates, first, rows, day_ns, length_ns, halt_lo,
              halt_hi, overnight, grid_f, grid_u, trade_prob, state, daily_vol, spread_bps,
              tick_inv, ts, rec, sides):
    """Simulate one session of every symbol, the symbols shared among ``workers`` that run
    in parallel (symbol s on worker ``owner[s]``).

    Symbol s fills rows ``first[s]:first[s] + rows[s]`` of ``ts``, ``rec`` and ``sides``
    (sides apart, so counting trades reads 1 byte per event, not a record): ``rows`` comes
    in as the room for its events (it expects ``rates[s]``) and goes out as the events
    written. ``state[s]`` and the next draw ``draws[s]`` carry over to the next session; the
    price first moves by the overnight log return ``overnight[s]``.
    """
    for w in nb.prange(workers):
        for s in range(owner.shape[0]):
            if owner[s] != w:
                continue
            state[s, 0] *= np.exp(overnight[s])
            rows[s], draws[s] = _session(
                keys[s], draws[s], rates[s], grid_f, grid_u, halt_lo[s], halt_hi[s], day_ns,
                length_ns, trade_prob, state[s], daily_vol[s], spread_bps[s], tick_inv,
                ts[first[s]:first[s] + rows[s]], rec[first[s]:first[s] + rows[s]],
                sides[first[s]:first[s] + rows[s]])


@nb.njit(cache=True, parallel=True)
def _slices(ts, sides, first, rows, cuts_ns):
    """Cut a session into slices at the times ``cuts_ns`` (ascending, the first and last
    outside the session) and find where each slice starts in every symbol's rows; also count
    each slice's events and trades. Returns (starts[s, j] with starts[s, -1] the end of
    symbol s's rows, events[j], trades[j])."""
    k, per = first.shape[0], cuts_ns.shape[0] - 1
    starts = np.empty((k, per + 1), np.int64)
    events = np.zeros(per, np.int64)
    trades = np.zeros(per, np.int64)
    for j in nb.prange(per + 1):
        for s in range(k):
            starts[s, j] = first[s] + (rows[s] if j == per else np.searchsorted(
                ts[first[s]:first[s] + rows[s]], cuts_ns[j]))
    for j in nb.prange(per):
        for s in range(k):
            events[j] += starts[s, j + 1] - starts[s, j]
            for p in range(starts[s, j], starts[s, j + 1]):
                trades[j] += sides[p] != 0
    return starts, events, trades


@nb.njit(cache=True, parallel=True)
def _merge(ts, rec, sides, starts, order, views, base, row0, trade0, q_ts, q_symbol, q_bid, q_ask,
           q_bid_sz, q_ask_sz, t_ts, t_symbol, t_price, t_size, t_side):
    """Merge the symbols' events of each slice (symbol s's rows ``starts[s, j]:starts[s, j +
    1]`` in slice j) into time order, ties in ``order`` (the codes sorted by name), writing
    quotes from row ``row0[j]`` and trades from ``trade0[j]``; a row's symbol is its code's
    string view, ``views[code]``.

    A loser tree over the symbols' heads picks the next event: one compare per level on the
    way up from the leaf that just moved, each against a loser stored at the node, so the
    compares do not wait on each other's loads (a winner tree loads both children per level).
    A head's key is its time since ``base`` shifted left, with its rank in ``order`` in the low
    bits: every key differs and a tie in time goes to the lower rank. The heads' next keys and
    records are prefetched, since every step waits on the last one.
    """
    k = order.shape[0]
    leaves, shift = 1, 0
    while leaves < k:
        leaves *= 2
        shift += 1
    big = np.iinfo(np.int64).max
    for c in nb.prange(starts.shape[1] - 1):
        head = np.zeros(leaves, np.int64)
        end = np.zeros(leaves, np.int64)
        key = np.full(leaves, big)
        for i in range(k):
            s = order[i]
            head[i], end[i] = starts[s, c], starts[s, c + 1]
            if head[i] < end[i]:
                key[i] = (ts[head[i]] - base) << shift | i
        # build: winners bottom-up, each node keeping the loser of its match
        win = np.empty(2 * leaves, np.int64)
        win[leaves:] = np.arange(leaves)
        loser = np.empty(leaves, np.int64)
        for node in range(leaves - 1, 0, -1):
            a, b = win[2 * node], win[2 * node + 1]
            win[node], loser[node] = (a, b) if key[a] <= key[b] else (b, a)
        i = win[1]
        t = trade0[c]
        for r in range(row0[c], row0[c + 1]):
            p = head[i]
            s = order[i]
            q_ts[r], q_symbol[r, 0], q_symbol[r, 1] = ts[p], views[s, 0], views[s, 1]
            q_bid[r], q_ask[r], q_bid_sz[r], q_ask_sz[r] = rec[p, 0], rec[p, 1], rec[p, 2], \
                rec[p, 3]
            side = sides[p]
            if side != 0:
                t_ts[t], t_symbol[t, 0], t_symbol[t, 1] = ts[p], views[s, 0], views[s, 1]
                t_size[t] = rec[p, 4]
                t_side[t] = side
                t_price[t] = rec[p, 1] if side > 0 else rec[p, 0]
                t += 1
            head[i] = p + 1
            if p + _AHEAD < end[i]:
                prefetch(ts, p + _AHEAD)
                prefetch(rec, (p + _AHEAD) * 5)
            kc = (ts[p + 1] - base) << shift | i if p + 1 < end[i] else big
            key[i] = kc
            node = (leaves + i) >> 1
            while node:  # replay the leaf's matches
                other = loser[node]
                ko = key[other]
                swap = ko < kc  # a coin toss: selects, not a branch
                loser[node] = i if swap else other
                i, kc = (other, ko) if swap else (i, kc)
                node >>= 1


def _sessions(start: int, count: int) -> list[dt.date]:
    day = _EPOCH + dt.timedelta(days=start // _DAY_NS)
    out = []
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def synthetic_market(
    symbols: int | list[str] = 20,
    sessions: int = 5,
    *,
    ticks_per_session: int = 40_000,
    quotes_per_trade: float = 2.5,
    start: TimeLike = "2024-01-02",
    session_open: str = "14h30m",
    session_length: str = "6h30m",
    seed: int = 42,
) -> SyntheticMarket:
    """Generate trades and L1 quotes for ``symbols`` over ``sessions`` weekdays.

    Parameters
    ----------
    symbols : int or list of str
        How many symbols (named ACME, BOLT, ...), or their names.
    sessions : int
        Trading days, weekdays from ``start`` on.
    ticks_per_session : int
        Mean trades per symbol per session (quotes are ``quotes_per_trade`` times more).
    start : date-like
        First calendar day considered.
    session_open, session_length : str
        Session start after UTC midnight and its length (default 14:30 UTC for 6.5 hours,
        the NYSE day in winter).
    seed : int
        The same seed gives the same market, bit for bit.

    Returns
    -------
    SyntheticMarket
        ``ticks`` and ``quotes`` frames in time order (ties by symbol).
    """
    names = _symbol_names(symbols)
    if not isinstance(sessions, int) or sessions < 1:
        raise ParameterError(f"sessions: expected a positive integer, got {sessions!r}")
    if not isinstance(ticks_per_session, int) or ticks_per_session < 1:
        raise ParameterError(
            f"ticks_per_session: expected a positive integer, got {ticks_per_session!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ParameterError(f"seed: expected a non-negative integer, got {seed!r}")
    if not quotes_per_trade >= 1.0:
        raise ParameterError(f"quotes_per_trade: must be >= 1, got {quotes_per_trade!r}")
    open_ns, length_ns = parse_duration(session_open, name="session_open"), parse_duration(
        session_length, name="session_length")
    if open_ns + length_ns > _DAY_NS:
        raise ParameterError("session_open + session_length must stay within one UTC day")
    days = _sessions(to_utc_ns(start, name="start"), sessions)

    k, sessions = len(names), len(days)
    rngs = [np.random.default_rng([seed, 0, s]) for s in range(k)]  # per-symbol traits
    traits = np.array([rng.uniform(size=3) for rng in rngs])
    activity = np.array([rng.lognormal(0.0, 0.5) for rng in rngs]) / np.exp(0.125)  # mean 1
    state = np.ones((k, 4))  # price, relative variance, bid and ask queues
    state[:, 0] = 10.0 * 50.0 ** traits[:, 0]  # 10 to 500, log-uniform
    state[:, 2:] = 500.0
    daily_vol = 0.01 + 0.02 * traits[:, 1]
    spread_bps = 1.0 + 5.0 * traits[:, 2]
    rates = ticks_per_session * quotes_per_trade * activity
    overnight = np.array([rng.standard_normal(sessions) for rng in rngs]) * 0.5 * \
        daily_vol[:, None]
    overnight[:, 0] = 0.0
    halted = np.array([rng.random(sessions) for rng in rngs]) < _HALT_PROB
    halt_lo = np.where(halted, 0.15 + 0.6 * np.array([rng.random(sessions) for rng in rngs]),
                       2.0)  # 2.0: never
    halt_hi = halt_lo + (5 + 25 * np.array([rng.random(sessions) for rng in rngs])) * 60e9 / \
        length_ns
    grid_f, grid_u = _u_shape_grid(_U_SHAPE)
    workers = max(1, min(nb.get_num_threads(), k))
    owner = _share(rates, workers)
    keys = np.array([stream_key(seed, 3, s) for s in range(k)])
    draws = np.zeros(k, np.uint64)
    order = np.argsort(names, kind="stable")
    strings = StringViews(names)
    # slices of equal expected activity, merged in parallel
    per = 8 * workers
    cuts = (np.interp(np.linspace(0.0, 1.0, per + 1), grid_f, grid_u) * length_ns).astype(
        np.int64)
    cuts[0], cuts[-1] = -1, length_ns + 1

    # one session at a time through buffers with room for any symbol's session:
    # P(Poisson(rate) > room) < 1e-20
    room = np.ceil(rates + 10.0 * np.sqrt(rates) + 20.0).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(room)[:-1]])
    ts, rec, sides = np.empty(room.sum(), np.int64), np.empty((room.sum(), 5)), np.empty(
        room.sum(), np.int8)
    # the outputs have room for every event; pages past the last row are never touched
    n = int(room.sum()) * sessions
    quotes = (np.empty(n, np.int64), np.empty((n, 2), np.uint64)) + tuple(
        np.empty(n) for _ in range(4))
    ticks = (np.empty(n, np.int64), np.empty((n, 2), np.uint64), np.empty(n), np.empty(n),
             np.empty(n, np.int8))
    small_pages(ts, rec, sides, *quotes, *ticks)  # fresh memory, written once: see pages.py
    at, trades_at = 0, 0
    for d, day in enumerate(days):
        day_ns = (day - _EPOCH).days * _DAY_NS + open_ns
        rows = room.copy()
        _simulate(owner, workers, keys, draws, rates, first, rows, day_ns, length_ns,
                  halt_lo[:, d].copy(), halt_hi[:, d].copy(), overnight[:, d].copy(), grid_f,
                  grid_u, 1.0 / quotes_per_trade, state, daily_vol, spread_bps, 100.0, ts, rec,
                  sides)
        starts, events, trades = _slices(ts, sides, first, rows, day_ns + cuts)
        row0 = at + np.concatenate([[0], np.cumsum(events)])
        trade0 = trades_at + np.concatenate([[0], np.cumsum(trades)])
        _merge(ts, rec, sides, starts, order, strings.table, day_ns, row0, trade0, *quotes, *ticks)
        at, trades_at = int(row0[-1]), int(trade0[-1])
    del ts, rec, sides
    quotes = tuple(a[:at] for a in quotes)
    ticks = tuple(a[:trades_at] for a in ticks)
    return SyntheticMarket(
        pl.DataFrame([
            pl.Series("ts", ticks[0]).cast(TS), strings.column(ticks[1]),
            pl.Series("price", ticks[2]), pl.Series("size", ticks[3]),
            pl.Series("side", ticks[4])]),
        pl.DataFrame([
            pl.Series("ts", quotes[0]).cast(TS), strings.column(quotes[1]),
            pl.Series("bid_px", quotes[2]), pl.Series("bid_sz", quotes[4]),
            pl.Series("ask_px", quotes[3]), pl.Series("ask_sz", quotes[5])]))


def _share(load: np.ndarray, workers: int) -> np.ndarray:
    """The worker of each symbol: largest load first, each to the least loaded worker."""
    owner = np.zeros(len(load), np.int64)
    totals = [0.0] * max(1, min(workers, len(load)))
    for s in np.argsort(-load, kind="stable"):
        w = totals.index(min(totals))
        owner[s] = w
        totals[w] += float(load[s])
    return owner


def _symbol_names(symbols: int | list[str]) -> list[str]:
    if isinstance(symbols, bool):
        raise ParameterError("symbols: expected a count or a list of names, got a bool")
    if isinstance(symbols, int):
        if not 1 <= symbols <= _MAX_SYMBOLS:
            raise ParameterError(f"symbols: expected 1 to {_MAX_SYMBOLS:,}, got {symbols}")
        return [_NAMES[i] if i < len(_NAMES) else f"SYM{i:03d}" for i in range(symbols)]
    names = list(symbols)
    if not names or not all(isinstance(s, str) and s for s in names) or \
            len(set(names)) != len(names):
        raise ParameterError("symbols: expected distinct non-empty names")
    if len(names) > _MAX_SYMBOLS:
        raise ParameterError(f"symbols: at most {_MAX_SYMBOLS:,} names, got {len(names):,}")
    return names
