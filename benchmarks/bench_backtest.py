"""Benchmark cift's signal backtest against vectorbt, end to end, in one process.

Run:  python benchmarks/bench_backtest.py [--bars 1000000] [--repeat 3]

SMA(10, 50) long/flat crossover on a synthetic random walk: the two moving averages, the
crossover signals, the backtest (next-bar open fills, 1 bp fees) and the metrics. vectorbt
runs the same strategy (``vbt.MA.run`` + ``Portfolio.from_signals`` + Sharpe / max drawdown),
and the final values must agree. Prints time, bars/s and the speed-up, and the peak RSS of
the process after each side (ru_maxrss: it only grows, so cift runs first).
"""

from __future__ import annotations

import argparse
import resource

import numpy as np
from timing import best  # benchmarks/timing.py: scripts run from this folder

from cift import features
from cift.backtest import from_signals


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cift_sma_cross(close: np.ndarray, open_: np.ndarray) -> float:
    fast, slow = features.sma(close, 10), features.sma(close, 50)
    diff = fast - slow  # NaN during warm-up compares False
    above, below = diff > 0, diff < 0
    entries = above & ~np.concatenate([[False], above[:-1]])
    exits = below & ~np.concatenate([[False], below[:-1]])
    res = from_signals(close, entries, exits, open=open_, fees_bps=1.0, init_cash=10_000)
    return float(res.equity[-1])


def vbt_sma_cross(close: np.ndarray, open_: np.ndarray) -> float:
    import pandas as pd
    import vectorbt as vbt

    c = pd.Series(close)
    fast, slow = vbt.MA.run(c, 10), vbt.MA.run(c, 50)
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(c, entries, exits, price=pd.Series(open_), fees=1e-4,
                                    init_cash=10_000)
    pf.sharpe_ratio(freq="1D"), pf.max_drawdown()
    return float(pf.final_value())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, args.bars)))
    open_ = close * np.exp(rng.normal(0, 0.0002, args.bars))
    n = args.bars

    cift_sma_cross(close[:1000], open_[:1000])  # load the compiled kernels
    ours = best(lambda: cift_sma_cross(close, open_), args.repeat)
    rss_ours = peak_rss_mb()
    vbt_sma_cross(close[:1000], open_[:1000])  # vectorbt's own JIT warm-up
    peer = best(lambda: vbt_sma_cross(close, open_), args.repeat)
    rss_peer = peak_rss_mb()
    a, b = cift_sma_cross(close, open_), vbt_sma_cross(close, open_)
    assert abs(a / b - 1) < 1e-9, (a, b)

    print(f"{'SMA(10,50) end to end, ' + f'{n:,} bars':<40} {'cift':>12} {'vectorbt':>12} "
          f"{'speed-up':>9}  target")
    print(f"{'time':<40} {ours * 1e3:>10.1f}ms {peer * 1e3:>10.1f}ms {peer / ours:>8.1f}x"
          f"  >= 20x")
    print(f"{'bars/s':<40} {n / ours / 1e6:>10.1f}M  {n / peer / 1e6:>10.1f}M")
    print(f"{'peak RSS of the process after the run':<40} {rss_ours:>10.0f}MB "
          f"{rss_peer:>10.0f}MB")
    print(f"final value {a:,.6f} (vectorbt {b:,.6f})")


if __name__ == "__main__":
    main()
