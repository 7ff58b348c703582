"""Benchmark cift's event engine: a limit-order market maker over ticks and L1 quotes.

Run:  python benchmarks/bench_events.py [--symbols 4] [--sessions 5] [--ticks 250000]

The strategy quotes both sides at the best bid and ask of every symbol whenever its bid is
not already there (cancel, then a new bid and offer), within a position cap, with 50 us
order latency, the queue-position model, fees and shorting: most events place orders. Prints
events/s of ``simulate()`` end to end (checks, the loop, the orders/fills frames), then the
plain-Python ``decide`` path on the same market, which must give the same fills.

The peer, hftbacktest, cannot share this environment (it pins numpy < 2.3 and numba 0.61,
vectorbt needs numpy >= 2.4.6), so its figure is the one the issue measured on this
machine: 4.2M events/s for its market-making loop with latency and a queue model.
NautilusTrader's figures are the issue's too: 117k quote ticks/s with no orders.
"""

from __future__ import annotations

import argparse
import time

import numba as nb
import numpy as np
from timing import best  # benchmarks/timing.py: scripts run from this folder

from cift.backtest import orders as o
from cift.backtest import simulate
from cift.backtest.market import market_sources
from cift.data.synthetic import synthetic_market

HFTBACKTEST_EVENTS_PER_S = 4.2e6  # the measurement on this machine
NAUTILUS_QUOTES_PER_S = 117e3  # the issue's: NautilusTrader, EMA cross, no orders


@nb.njit
def market_maker(ev, feat, out, params, state):
    """Bid and offer params[0] at the touch when our bid is not there; cap params[1]."""
    if ev[o.EV_KIND] != o.KIND_QUOTE or ev[o.EV_BUY_PX] == ev[o.EV_BID]:
        return 0
    n = 0
    s, pos = ev[o.EV_SYMBOL], ev[o.EV_POSITION]
    if not (np.isnan(ev[o.EV_BUY_PX]) and np.isnan(ev[o.EV_SELL_PX])):
        n = o.cancel_all(out, n, s)
    if pos < params[1]:
        n = o.limit(out, n, s, params[0], ev[o.EV_BID])
    if pos > -params[1]:
        n = o.limit(out, n, s, -params[0], ev[o.EV_ASK])
    return n


def ema_watcher(ev, feat, out, params, state):
    """A plain-Python strategy that places no orders: an EMA of the mid per symbol."""
    s = int(ev[o.EV_SYMBOL])
    mid = 0.5 * (ev[o.EV_BID] + ev[o.EV_ASK])
    state[s] = mid if state[s] == 0.0 else state[s] + 0.1 * (mid - state[s])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=4)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--ticks", type=int, default=250_000, help="trades per session")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    m = synthetic_market(args.symbols, args.sessions, ticks_per_session=args.ticks, seed=5)
    kw = {"ticks": m.ticks, "quotes": m.quotes, "params": [100.0, 2_000.0],
          "latency": "50us", "fees_bps": 0.2, "allow_short": True, "queue": True,
          "progress": False}
    simulate(market_maker, ticks=m.ticks.head(1000), quotes=m.quotes.head(1000),
             params=[100.0, 2_000.0])  # compile
    res = simulate(market_maker, **kw)
    n = res.metrics["events"]
    took = best(lambda: simulate(market_maker, **kw), args.repeat)
    rate = n / took
    print(f"{'tick market maker, ' + f'{n:,} events':<44} {'cift':>12} {'hftbacktest':>12} "
          f"{'speed-up':>9}  target")
    print(f"{'events/s (simulate end to end)':<44} {rate / 1e6:>11.2f}M "
          f"{HFTBACKTEST_EVENTS_PER_S / 1e6:>11.2f}M {rate / HFTBACKTEST_EVENTS_PER_S:>8.1f}x"
          f"  >= 10M events/s")
    print(f"{'time':<44} {took:>11.2f}s   ({res.metrics['orders']:,} orders, "
          f"{res.metrics['fills']:,} fills, {args.symbols} symbols)")
    checks = best(lambda: market_sources(ticks=m.ticks, quotes=m.quotes), args.repeat)
    print(f"{'events/s of the engine (less the data checks)':<44} "
          f"{n / (took - checks) / 1e6:>11.2f}M   (checking and converting the frames: "
          f"{checks:.2f}s)")
    # timed on their own on a fresh result (each result builds them once, on first access)
    fresh = simulate(market_maker, **kw)
    t0 = time.perf_counter()
    built = fresh.orders.height + fresh.fills.height
    frames = time.perf_counter() - t0
    assert built == res.metrics["orders"] + res.metrics["fills"]
    print(f"{'+ the orders and fills frames (on first access)':<44} {frames:>11.2f}s")

    sub = {**kw, "ticks": m.ticks.head(40_000), "quotes": m.quotes.head(100_000)}
    fast = simulate(market_maker, **sub)
    warm = {"ticks": m.ticks.head(100), "quotes": m.quotes.head(100)}
    simulate(market_maker.py_func, **{**sub, **warm})  # load the Python path's kernels
    simulate(ema_watcher, **warm, state_size=args.symbols)
    py_took = best(lambda: simulate(market_maker.py_func, **sub), args.repeat)
    slow = simulate(market_maker.py_func, **sub)
    same = fast.fills.equals(slow.fills) and fast.orders.equals(slow.orders)
    k = fast.metrics["events"]
    print(f"{'plain-Python decide, trading':<44} {k / py_took / 1e3:>11.0f}k events/s "
          f"({fast.metrics['orders']:,} orders; the same fills as compiled: {same})")
    quiet = {"ticks": m.ticks.head(40_000), "quotes": m.quotes.head(100_000),
             "state_size": args.symbols}
    q_took = best(lambda: simulate(ema_watcher, **quiet), args.repeat)
    q_rate = k / q_took
    print(f"{'plain-Python decide, no orders':<44} {q_rate / 1e3:>11.0f}k events/s "
          f"(NautilusTrader {NAUTILUS_QUOTES_PER_S / 1e3:.0f}k quote ticks/s: "
          f"{q_rate / NAUTILUS_QUOTES_PER_S:.1f}x; target >= 10x)")


if __name__ == "__main__":
    main()
