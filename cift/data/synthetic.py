"""A realistic synthetic market, deterministic by seed: trades and L1 quotes for N symbols.

The model, per symbol and session (one Numba pass over events):

* Events arrive as a Poisson process whose intensity is U-shaped over the session (busy open
  and close, quiet lunch): uniform order statistics mapped through the inverse CDF of
  ``1 + a (2u - 1)^2``.
* The efficient log price diffuses with stochastic volatility (log-variance Ornstein–Uhlenbeck),
  so calm and turbulent stretches alternate; overnight it jumps by a scaled normal return.
* Quotes sit on a tick grid around it with a spread that widens with volatility, and sizes in
  round lots. Each event is a quote update or, with probability ``1 / quotes_per_trade``, a
  trade; the trade's side leans toward the heavier side of the book
  (P(buy) = 0.5 + 0.4 * imbalance), it prints at the touch, eats queue and nudges the price.
* Occasionally a symbol halts for 5–30 minutes mid-session (a gap with no events).

Each (symbol, session) draws from its own seeded stream, so a symbol's data does not depend on
how many other symbols are generated.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numba as nb
import numpy as np
import polars as pl

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
_CHUNK = 1 << 16  # events per batch of random draws (fits in L2)


class SyntheticMarket(NamedTuple):
    """Trades and quotes of a synthetic market, both in the data model of cift.data.schema."""

    ticks: pl.DataFrame
    quotes: pl.DataFrame


@nb.njit(cache=True, nogil=True)
def _u_shape_inverse_cdf(u_sorted, a):
    """Map sorted uniforms through the inverse CDF of the U-shaped density (in place)."""
    grid_u = np.linspace(0.0, 1.0, _CDF_GRID)
    grid_f = (grid_u + a / 6.0 * ((2.0 * grid_u - 1.0) ** 3 + 1.0)) / (1.0 + a / 3.0)
    j = 0
    for i in range(u_sorted.shape[0]):
        y = u_sorted[i]
        while j < _CDF_GRID - 2 and grid_f[j + 1] < y:
            j += 1
        w = (y - grid_f[j]) / (grid_f[j + 1] - grid_f[j])
        u_sorted[i] = grid_u[j] + w * (grid_u[j + 1] - grid_u[j])


@nb.njit(cache=True, nogil=True)
def _lots(u, mean):
    """Round lots of 100 with an exponential count of extra lots, from a uniform in [0, 1]."""
    return 100.0 * (1.0 + np.floor(-mean * np.log(max(u, 1e-300))))


@nb.njit(cache=True, nogil=True)
def _route(u, w, alias_prob, alias, halt_lo, halt_hi, code, row, at):
    """Each event's symbol (alias method over activity weights, from ``w[2]``) and its output
    row (-1 while its symbol is halted), rows numbered from ``at``; returns the next free row."""
    k = alias.shape[0]
    m = at
    for i in range(u.shape[0]):
        x = w[2, i] * k
        s = np.int64(x)
        if x - s >= alias_prob[s]:
            s = alias[s]
        code[i] = s
        if halt_lo[s] <= u[i] < halt_hi[s]:
            row[i] = -1
        else:
            row[i] = m
            m += 1
    return m


@nb.njit(cache=True, nogil=True)
def _simulate_group(group, groups, u, z, w, code, row, open_ns, length_ns, trade_prob,
                    log_price, log_var, prev_u, b_sz, a_sz, daily_vol, spread_bps, tick_inv,
                    t, out_code, bid, ask, bid_sz, ask_sz, side, trade_sz):
    """Simulate the events of the symbols s with s % groups == group, one by one in time order.

    ``u``: sorted event times in [0, 1) of the session; ``z``: 2 normals per event; ``w``:
    3 uniforms per event (the third chose the symbol, see _route; the first two each decide
    an event *and* its size, a conditional uniform). A symbol's state is touched only by its
    group, so groups run in parallel and give what one pass in time order gives.
    """
    kappa, xi = 8.0, 1.2  # log-variance mean reversion (per session) and vol of vol
    var_norm = np.exp(-xi * xi / (4.0 * kappa))  # makes E[exp(log_var)] ~ 1
    for i in range(u.shape[0]):
        s = code[i]
        m = row[i]
        if s % groups != group or m < 0:
            continue
        ui = u[i]
        d = ui - prev_u[s]
        prev_u[s] = ui
        sq = np.sqrt(d)
        log_var[s] += -kappa * log_var[s] * d + xi * sq * z[0, i]
        vol = daily_vol[s] * np.sqrt(np.exp(log_var[s]) * var_norm)
        log_price[s] += vol * sq * z[1, i]
        mid = np.exp(log_price[s]) * tick_inv  # in ticks
        spread = max(1.0, np.floor(spread_bps[s] * 1e-4 * mid * (0.6 + 0.8 * vol / daily_vol[s])))
        b = np.floor(mid - spread / 2.0)
        t[m] = open_ns + np.int64(ui * length_ns)
        out_code[m] = s
        bid[m] = b / tick_inv
        ask[m] = (b + spread) / tick_inv
        # queues refresh now and then, so the imbalance wanders with some memory
        r = w[0, i]
        if r < 0.3:
            b_sz[s] = _lots(r / 0.3, 4.0)
        elif r > 0.7:
            a_sz[s] = _lots((r - 0.7) / 0.3, 4.0)
        side[m] = 0
        trade_sz[m] = 0.0
        r = w[1, i]
        if r < trade_prob:
            r /= trade_prob
            p_buy = 0.5 + 0.4 * (b_sz[s] - a_sz[s]) / (b_sz[s] + a_sz[s])
            if r < p_buy:
                side[m] = 1
                size = min(_lots(r / p_buy, 1.5), a_sz[s])
                a_sz[s] = a_sz[s] - size if a_sz[s] > size else 500.0
            else:
                side[m] = -1
                size = min(_lots((r - p_buy) / (1.0 - p_buy), 1.5), b_sz[s])
                b_sz[s] = b_sz[s] - size if b_sz[s] > size else 500.0
            trade_sz[m] = size
            log_price[s] += side[m] * 0.15 * spread / mid  # price impact
        bid_sz[m] = b_sz[s]
        ask_sz[m] = a_sz[s]


@nb.njit(cache=True, parallel=True)
def _simulate_events(u, z, w, alias_prob, alias, halt_lo, halt_hi, open_ns, length_ns,
                     trade_prob, log_price, log_var, prev_u, b_sz, a_sz, daily_vol, spread_bps,
                     tick_inv, t, code, bid, ask, bid_sz, ask_sz, side, trade_sz, at, groups):
    """Simulate a run of events of all symbols: route them to symbols and rows, then simulate
    the symbols in ``groups`` groups in parallel (Numba's thread count). Per-symbol state
    arrays carry over between calls. Writes rows from ``at`` on and returns the next free row."""
    n = u.shape[0]
    event_code = np.empty(n, np.int64)
    row = np.empty(n, np.int64)
    end = _route(u, w, alias_prob, alias, halt_lo, halt_hi, event_code, row, at)
    for g in nb.prange(groups):
        _simulate_group(g, groups, u, z, w, event_code, row, open_ns, length_ns, trade_prob,
                        log_price, log_var, prev_u, b_sz, a_sz, daily_vol, spread_bps,
                        tick_inv, t, code, bid, ask, bid_sz, ask_sz, side, trade_sz)
    return end


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
    if not quotes_per_trade >= 1.0:
        raise ParameterError(f"quotes_per_trade: must be >= 1, got {quotes_per_trade!r}")
    open_ns, length_ns = parse_duration(session_open, name="session_open"), parse_duration(
        session_length, name="session_length")
    if open_ns + length_ns > _DAY_NS:
        raise ParameterError("session_open + session_length must stay within one UTC day")
    days = _sessions(to_utc_ns(start, name="start"), sessions)

    k = len(names)
    traits = np.random.default_rng([seed, 0])
    order = np.argsort(names, kind="stable")  # symbol codes in name order: ties sort by name
    activity = traits.lognormal(0.0, 0.5, k)
    activity *= k / activity.sum()
    state = {
        "log_price": traits.uniform(np.log(10), np.log(500), k),
        "log_var": np.zeros(k),
        "prev_u": np.zeros(k),
        "b_sz": np.full(k, 500.0),
        "a_sz": np.full(k, 500.0),
        "daily_vol": traits.uniform(0.01, 0.03, k),
        "spread_bps": traits.uniform(1.0, 6.0, k),
    }
    alias_prob, alias = _alias_table(activity / k)
    day_rngs = [np.random.default_rng([seed, 1, d]) for d in range(len(days))]
    counts = [int(rng.poisson(ticks_per_session * quotes_per_trade * k)) for rng in day_rngs]
    out = _EventColumns(sum(counts))
    times = np.empty(max(counts) + 1)
    z, w = np.empty(2 * _CHUNK, np.float32), np.empty(3 * _CHUNK, np.float32)  # reused, cached
    at = 0
    for day, rng, n in zip(days, day_rngs, counts):
        if at:
            state["log_price"] += 0.5 * state["daily_vol"] * rng.standard_normal(k)  # overnight
        state["prev_u"][:] = 0.0
        halted = rng.random(k) < _HALT_PROB
        halt_lo = np.where(halted, 0.15 + 0.6 * rng.random(k), 2.0)  # 2.0: never
        halt_hi = halt_lo + (5 + 25 * rng.random(k)) * 60e9 / length_ns
        u = rng.standard_exponential(out=times[: n + 1])
        np.cumsum(u, out=u)  # uniform order statistics, sorted
        u /= u[-1]
        u = u[:-1]
        _u_shape_inverse_cdf(u, _U_SHAPE)
        for lo in range(0, n, _CHUNK):
            c = min(_CHUNK, n - lo)
            zc = rng.standard_normal(dtype=np.float32, out=z[: 2 * c]).reshape(2, c)
            wc = rng.random(dtype=np.float32, out=w[: 3 * c]).reshape(3, c)
            at = _simulate_events(
                u[lo: lo + c], zc, wc, alias_prob, alias, halt_lo, halt_hi,
                (day - _EPOCH).days * _DAY_NS + open_ns, length_ns, 1.0 / quotes_per_trade,
                *state.values(), 100.0, *out.columns(), at, nb.get_num_threads())
    out = out.view(0, at)

    # codes index names in the user's order; an Enum in name order makes ties sort by name,
    # and turning cheap codes into text once per frame beats gathering strings
    rank = np.empty(k, np.uint32)
    rank[order] = np.arange(k, dtype=np.uint32)
    events = pl.LazyFrame({
        "ts": pl.Series(out.t).cast(TS),
        "symbol": pl.Series(rank[out.code]).cat.to(pl.Enum([names[i] for i in order])),
        "bid_px": out.bid, "bid_sz": out.bid_sz, "ask_px": out.ask, "ask_sz": out.ask_sz,
        "side": out.side, "trade_sz": out.trade_sz})
    text = pl.col("symbol").cast(pl.String)
    ticks, quotes = pl.collect_all([
        events.filter(pl.col("side") != 0).select(
            "ts", text, price=pl.when(pl.col("side") > 0).then("ask_px").otherwise("bid_px"),
            size="trade_sz", side="side"),
        events.select("ts", text, "bid_px", "bid_sz", "ask_px", "ask_sz"),
    ])
    return SyntheticMarket(ticks, quotes)


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for drawing index i with probability p[i] from one uniform."""
    k = len(p)
    prob, alias = p * k, np.arange(k)
    small = [i for i in range(k) if prob[i] < 1.0]
    large = [i for i in range(k) if prob[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        (small if prob[g] < 1.0 else large).append(g)
    for i in small + large:
        prob[i] = 1.0
    return prob, alias


class _EventColumns:
    """Column buffers for simulated events (one row per quote; trades have side != 0)."""

    def __init__(self, n: int, *, arrays: tuple[np.ndarray, ...] | None = None) -> None:
        if arrays is None:
            arrays = (np.empty(n, np.int64), np.empty(n, np.int32), np.empty(n), np.empty(n),
                      np.empty(n), np.empty(n), np.empty(n, np.int8), np.empty(n))
        self.t, self.code, self.bid, self.ask, self.bid_sz, self.ask_sz, self.side, \
            self.trade_sz = arrays

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.t, self.code, self.bid, self.ask, self.bid_sz, self.ask_sz, self.side,
                self.trade_sz)

    def view(self, lo: int, hi: int) -> _EventColumns:
        return _EventColumns(0, arrays=tuple(a[lo:hi] for a in self.columns()))


def _symbol_names(symbols: int | list[str]) -> list[str]:
    if isinstance(symbols, bool):
        raise ParameterError("symbols: expected a count or a list of names, got a bool")
    if isinstance(symbols, int):
        if symbols < 1:
            raise ParameterError(f"symbols: expected a positive count, got {symbols}")
        return [_NAMES[i] if i < len(_NAMES) else f"SYM{i:03d}" for i in range(symbols)]
    names = list(symbols)
    if not names or not all(isinstance(s, str) and s for s in names) or \
            len(set(names)) != len(names):
        raise ParameterError("symbols: expected distinct non-empty names")
    return names
