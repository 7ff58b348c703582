"""Benchmark cift's signal backtest against vectorbt, end to end, in one process.

Run:  python benchmarks/bench_backtest.py [--bars 1000000] [--repeat 5]

SMA(10, 50) long/flat crossover on a synthetic random walk: the two moving averages, the
crossover signals (cift's ``crossings``, vectorbt's ``ma_crossed_above/below``), the backtest
(next-bar open fills, 1 bp fees) and the metrics. vectorbt
runs the same strategy (``vbt.MA.run`` + ``Portfolio.from_signals`` + Sharpe / max drawdown),
and the final values must agree. Then a 10x10 grid of SMA lengths, cift's ``signal_grid``
against vectorbt's 2D ``from_signals`` (the crossings are built the same way, with NumPy, on
both sides). Prints time, bars/s and the speed-up, and the peak RSS of the process during
each side's runs (the peak is reset before each side on Linux: the imports and the prices
count, what an earlier side held does not).
"""

from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np
from timing import best  # benchmarks/timing.py: scripts run from this folder

from cift import features
from cift.backtest import crossings, from_signals


def peak_rss_mb() -> float:
    """The process's peak resident set since the last :func:`reset_peak_rss`, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start the peak over from the present resident set (Linux; elsewhere it only grows,
    and the figures of a side include the sides before it)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def cift_sma_cross(close: np.ndarray, open_: np.ndarray) -> float:
    # crossings: where fast moves above / below slow (NaN warm-ups never cross)
    entries, exits = crossings(features.sma(close, 10), features.sma(close, 50))
    res = from_signals(close, entries, exits, open=open_, fees_bps=1.0, init_cash=10_000)
    return res.final_value


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


FASTS = (5, 8, 10, 12, 15, 20, 25, 30, 35, 40)
SLOWS = (50, 60, 70, 80, 90, 100, 120, 140, 160, 200)


def crossing_matrices(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry/exit matrices (bars x combinations) of fast/slow MA crossings."""
    diff = fast - slow
    above, below = diff > 0, diff < 0
    first = np.zeros((1, diff.shape[1]), bool)
    return (above & ~np.concatenate([first, above[:-1]]),
            below & ~np.concatenate([first, below[:-1]]))


def cift_grid(close: np.ndarray, open_: np.ndarray):
    import polars as pl

    from cift.backtest import signal_grid

    # one row of signals per combination, written in place: no bars x combinations float
    # matrices; the transposed view is the (bars, combinations) layout signal_grid takes,
    # and needs no copy
    m, n = len(FASTS) * len(SLOWS), len(close)
    entries, exits = np.empty((m, n), bool), np.empty((m, n), bool)
    slow = {s: features.sma(close, s) for s in SLOWS}
    j = 0
    for f in FASTS:
        fast = features.sma(close, f)
        for s in SLOWS:
            e, x = crossing_matrices(fast[:, None], slow[s][:, None])
            entries[j], exits[j] = e[:, 0], x[:, 0]
            j += 1
    labels = pl.DataFrame({"fast": [f for f in FASTS for _ in SLOWS],
                           "slow": [s for _ in FASTS for s in SLOWS]})
    return signal_grid(close, entries.T, exits.T, open=open_, fees_bps=1.0, init_cash=10_000,
                       labels=labels)


def vbt_grid(close: np.ndarray, open_: np.ndarray):
    import pandas as pd
    import vectorbt as vbt

    c = pd.Series(close)
    fast = vbt.MA.run(c, [f for f in FASTS for _ in SLOWS]).ma.to_numpy()
    slow = vbt.MA.run(c, [s for _ in FASTS for s in SLOWS]).ma.to_numpy()
    entries, exits = crossing_matrices(fast, slow)
    shift = np.zeros((1, entries.shape[1]), bool)
    pf = vbt.Portfolio.from_signals(
        c, pd.DataFrame(np.concatenate([shift, entries[:-1]])),
        pd.DataFrame(np.concatenate([shift, exits[:-1]])), price=pd.Series(open_),
        fees=1e-4, init_cash=10_000)
    return pf.final_value().to_numpy(), pf.sharpe_ratio(freq="1D").to_numpy()


def bench_strategy(close: np.ndarray, open_: np.ndarray) -> None:
    """The same SMA cross as a Strategy: decide compiled into the loop, and in plain Python."""
    import numba as nb
    import polars as pl

    from cift.backtest.engine import run
    from cift.strategy import Param, Strategy, Use

    def decide(row, position, cash, params):
        return 1.0 if row[0] > row[1] else 0.0

    params = (Param("fast", 10, 2, 500), Param("slow", 50, 2, 5000))
    features = {"fast": Use("sma", timeperiod="fast"), "slow": Use("sma", timeperiod="slow")}
    bars = pl.DataFrame({"open": open_, "close": close})
    compiled = Strategy("sma_cross", params, features, nb.njit(decide))
    python = Strategy("sma_cross", params, features, decide)
    run(compiled, bars.head(1000))
    run(python, bars.head(1000))  # load the Python path's compiled step
    a = best(lambda: run(compiled, bars, fees_bps=1.0, init_cash=10_000), 2)
    small = bars.head(200_000)
    b = best(lambda: run(python, small, fees_bps=1.0, init_cash=10_000), 1)
    same = np.array_equal(run(compiled, small, fees_bps=1.0).equity,
                          run(python, small, fees_bps=1.0).equity)
    print(f"{'Strategy run, decide compiled (1M bars)':<40} {a * 1e3:>10.1f}ms "
          f"{len(bars) / a / 1e6:>10.1f}M bars/s")
    print(f"{'Strategy run, decide in Python (200k)':<40} {b * 1e3:>10.1f}ms "
          f"{len(small) / b / 1e3:>10.0f}k bars/s  (NautilusTrader, per the issue: 36k "
          f"bars/s; target >= 10x); same equity as compiled: {same}")


def bench_sweep(close: np.ndarray, open_: np.ndarray, grid) -> float:
    """cift.backtest.sweep over FASTS x SLOWS; its metrics must equal signal_grid's."""
    import numba as nb
    import polars as pl

    from cift.backtest import sweep
    from cift.strategy import Param, Strategy, Use

    @nb.njit
    def decide(row, position, cash, params):
        return 1.0 if row[0] > row[1] else 0.0

    strategy = Strategy("sma_cross", (Param("fast", 10, 2, 500), Param("slow", 50, 2, 5000)),
                        {"fast": Use("sma", timeperiod="fast"),
                         "slow": Use("sma", timeperiod="slow")}, decide)
    bars = pl.DataFrame({"open": open_, "close": close})
    sweep(strategy, bars.head(1000), fast=[5], slow=[50])
    t0 = time.perf_counter()
    result = sweep(strategy, bars, fees_bps=1.0, init_cash=10_000, fast=list(FASTS),
                   slow=list(SLOWS))
    elapsed = time.perf_counter() - t0
    assert np.allclose(result["total_return"].to_numpy(), grid["total_return"].to_numpy(),
                       rtol=1e-9), "sweep and signal_grid disagree"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-grid", action="store_true", help="skip the 10x10 grid")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, args.bars)))
    open_ = close * np.exp(rng.normal(0, 0.0002, args.bars))
    n = args.bars

    # cift's runs first, before vectorbt (and pandas) are imported: the peak RSS of each
    # side then holds its own imports and data only
    cift_sma_cross(close[:1000], open_[:1000])  # load the compiled kernels
    reset_peak_rss()
    ours = best(lambda: cift_sma_cross(close, open_), args.repeat)
    rss_ours = peak_rss_mb()
    m = len(FASTS) * len(SLOWS)
    if not args.no_grid:
        cift_grid(close[:2000], open_[:2000])
        reset_peak_rss()
        t0 = time.perf_counter()
        grid = cift_grid(close, open_)
        grid_ours = time.perf_counter() - t0
        grid_rss_ours = peak_rss_mb()

    vbt_sma_cross(close[:1000], open_[:1000])  # vectorbt's own JIT warm-up
    reset_peak_rss()
    peer = best(lambda: vbt_sma_cross(close, open_), args.repeat)
    rss_peer = peak_rss_mb()
    a, b = cift_sma_cross(close, open_), vbt_sma_cross(close, open_)
    assert abs(a / b - 1) < 1e-9, (a, b)

    print(f"{'SMA(10,50) end to end, ' + f'{n:,} bars':<40} {'cift':>12} {'vectorbt':>12} "
          f"{'speed-up':>9}  target")
    print(f"{'time':<40} {ours * 1e3:>10.1f}ms {peer * 1e3:>10.1f}ms {peer / ours:>8.1f}x"
          f"  >= 20x")
    print(f"{'bars/s':<40} {n / ours / 1e6:>10.1f}M  {n / peer / 1e6:>10.1f}M")
    print(f"{'peak RSS of the process in the run':<40} {rss_ours:>10.0f}MB "
          f"{rss_peer:>10.0f}MB")
    print(f"final value {a:,.6f} (vectorbt {b:,.6f})")

    bench_strategy(close, open_)
    if args.no_grid:
        return
    reset_peak_rss()
    t0 = time.perf_counter()
    final, _ = vbt_grid(close, open_)
    peer = time.perf_counter() - t0
    rss_peer = peak_rss_mb()
    ours_final = 10_000 * (1 + grid["total_return"].to_numpy())
    assert np.allclose(ours_final, final, rtol=1e-9), "final values differ from vectorbt"
    print(f"{f'{len(FASTS)}x{len(SLOWS)} grid, {n:,} bars':<40} {grid_ours:>10.2f}s  "
          f"{peer:>10.2f}s {peer / grid_ours:>8.1f}x  >= 50x, < 1 GB")
    print(f"{'combination-bars/s':<40} {m * n / grid_ours / 1e6:>10.1f}M  "
          f"{m * n / peer / 1e6:>10.1f}M")
    print(f"{'peak RSS of the process in the grid':<40} {grid_rss_ours:>10.0f}MB "
          f"{rss_peer:>10.0f}MB")
    sweep_time = bench_sweep(close, open_, grid)
    print(f"{'the same grid as a Strategy sweep':<40} {sweep_time:>10.2f}s  {peer:>10.2f}s "
          f"{peer / sweep_time:>8.1f}x  (cift.backtest.sweep, engine='numba')")
    best_row = grid.sort("sharpe", descending=True).row(0, named=True)
    print(f"best Sharpe {best_row['sharpe']:.3f} at SMA({best_row['fast']},{best_row['slow']})")


if __name__ == "__main__":
    main()
