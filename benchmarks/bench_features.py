"""Benchmark cift's features against TA-Lib, Polars and pandas on the same arrays.

Run:  python benchmarks/bench_features.py [--n 10000000] [--bars 1000000] [--repeat 5]

Single-input features run on ``--n`` float64 values, high/low/close features on ``--bars``
bars. Prints ns/element for each library and cift's ratio to TA-Lib (<= 1.0 means cift is as
fast or faster). The first line is the cold cost of a fresh process: ``import cift`` plus one
call of every feature with Numba's cache warm. cift maps its large outputs' pages on the
second core (cift.features.prefault); the last column is cift/TA-Lib without that, on one
core as TA-Lib runs. Then short series (us per call), the microstructure features on ``--n``
quotes/trades (ns/tick, with Polars where it has the same computation), and the streaming twins:
one ``update`` called from Python per value (ns/update, against talipp's ``add``) and
``update_many`` (ns/element).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
import talib
from timing import best, best_pair  # benchmarks/timing.py: scripts run from this folder

from cift import features as ta
from cift.features import prefault, stream
from cift.features.ma_kernels import NAMES


def cold_start() -> float:
    """Seconds for a fresh interpreter to import cift and call every feature once."""
    code = ("import time; t0 = time.perf_counter(); import numpy as np; "
            "from cift import features as ta; x = np.linspace(1, 2, 100); v = np.ones(100)\n"
            "ts = np.arange(100) * 10**9\n"
            "for name, spec in ta.REGISTRY.items():\n"
            "    getattr(ta, name)(*[ts if i == 'ts' else v if i in ('volume', 'size', 'side')"
            " else x for i in spec.inputs])\n"
            "print(time.perf_counter() - t0)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # fill cache
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return float(out.stdout)


def polars_rsi(s: pl.Series, p: int) -> pl.Series:
    d = s.diff()
    up = d.clip(lower_bound=0).ewm_mean(alpha=1 / p, adjust=False)
    down = (-d).clip(lower_bound=0).ewm_mean(alpha=1 / p, adjust=False)
    return 100 * up / (up + down)


def pandas_rsi(s: pd.Series, p: int) -> pd.Series:
    d = s.diff()
    up = d.clip(lower=0).ewm(alpha=1 / p, adjust=False).mean()
    down = (-d).clip(lower=0).ewm(alpha=1 / p, adjust=False).mean()
    return 100 * up / (up + down)


def polars_atr(h: pl.Series, lo: pl.Series, c: pl.Series, p: int) -> pl.Series:
    pc = c.shift(1)
    tr = pl.max_horizontal(h - lo, (h - pc).abs(), (lo - pc).abs())
    return pl.select(tr).to_series().ewm_mean(alpha=1 / p, adjust=False)


def pandas_atr(h: pd.Series, lo: pd.Series, c: pd.Series, p: int) -> pd.Series:
    pc = c.shift(1)
    tr = pd.concat([h - lo, (h - pc).abs(), (lo - pc).abs()], axis=1).max(axis=1)
    return tr.ewm(alpha=1 / p, adjust=False).mean()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    print(f"fresh process: import cift + first call of {len(ta.REGISTRY)} features: "
          f"{cold_start():.2f} s (target < 2 s)")
    rng = np.random.default_rng(0)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, args.n)))
    xs, xp = pl.Series(x), pd.Series(x)
    m = args.bars
    c = 100 * np.exp(np.cumsum(rng.normal(0, 1e-2, m)))
    h = c * (1 + rng.uniform(0, 0.01, m))
    lo = c * (1 - rng.uniform(0, 0.01, m))
    v = rng.integers(1, 10_000, m).astype(float)
    hs, ls, cs, vs = pl.Series(h), pl.Series(lo), pl.Series(c), pl.Series(v)
    hp, lp, cp, vp = pd.Series(h), pd.Series(lo), pd.Series(c), pd.Series(v)

    # name, elements, cift, TA-Lib, Polars, pandas (None: no direct equivalent)
    cases: list[tuple[str, int, Callable, Callable, Callable | None, Callable | None]] = [
        ("sma(30)", args.n, lambda: ta.sma(x, 30), lambda: talib.SMA(x, 30),
         lambda: xs.rolling_mean(30), lambda: xp.rolling(30).mean()),
        ("ema(30)", args.n, lambda: ta.ema(x, 30), lambda: talib.EMA(x, 30),
         lambda: xs.ewm_mean(span=30, adjust=False), lambda: xp.ewm(span=30, adjust=False).mean()),
        ("wma(30)", args.n, lambda: ta.wma(x, 30), lambda: talib.WMA(x, 30), None, None),
        ("dema(30)", args.n, lambda: ta.dema(x, 30), lambda: talib.DEMA(x, 30), None, None),
        ("tema(30)", args.n, lambda: ta.tema(x, 30), lambda: talib.TEMA(x, 30), None, None),
        ("trima(30)", args.n, lambda: ta.trima(x, 30), lambda: talib.TRIMA(x, 30), None, None),
        ("kama(30)", args.n, lambda: ta.kama(x, 30), lambda: talib.KAMA(x, 30), None, None),
        ("t3(5)", args.n, lambda: ta.t3(x, 5), lambda: talib.T3(x, 5), None, None),
        ("mama", args.n, lambda: ta.mama(x), lambda: talib.MAMA(x), None, None),
        ("rsi(14)", args.n, lambda: ta.rsi(x, 14), lambda: talib.RSI(x, 14),
         lambda: polars_rsi(xs, 14), lambda: pandas_rsi(xp, 14)),
        ("macd(12,26,9)", args.n, lambda: ta.macd(x), lambda: talib.MACD(x),
         lambda: (xs.ewm_mean(span=12, adjust=False) - xs.ewm_mean(span=26, adjust=False))
         .ewm_mean(span=9, adjust=False),
         lambda: (xp.ewm(span=12, adjust=False).mean() - xp.ewm(span=26, adjust=False).mean())
         .ewm(span=9, adjust=False).mean()),
        ("bbands(20)", args.n, lambda: ta.bbands(x, 20), lambda: talib.BBANDS(x, 20),
         lambda: (xs.rolling_mean(20), xs.rolling_std(20, ddof=0)),
         lambda: (xp.rolling(20).mean(), xp.rolling(20).std(ddof=0))),
        ("stddev(20)", args.n, lambda: ta.stddev(x, 20), lambda: talib.STDDEV(x, 20),
         lambda: xs.rolling_std(20, ddof=0), lambda: xp.rolling(20).std(ddof=0)),
        ("roc(10)", args.n, lambda: ta.roc(x, 10), lambda: talib.ROC(x, 10),
         lambda: (xs / xs.shift(10) - 1) * 100, lambda: xp.pct_change(10) * 100),
        ("atr(14)", m, lambda: ta.atr(h, lo, c, 14), lambda: talib.ATR(h, lo, c, 14),
         lambda: polars_atr(hs, ls, cs, 14), lambda: pandas_atr(hp, lp, cp, 14)),
        ("natr(14)", m, lambda: ta.natr(h, lo, c, 14), lambda: talib.NATR(h, lo, c, 14),
         None, None),
        ("willr(14)", m, lambda: ta.willr(h, lo, c, 14), lambda: talib.WILLR(h, lo, c, 14),
         None, None),
        ("stoch(5,3,3)", m, lambda: ta.stoch(h, lo, c), lambda: talib.STOCH(h, lo, c),
         None, None),
        # TA-Lib's other moving-average types (matype) as the middle band and smoothings
        *[(f"bbands/{NAMES[t]}", args.n, lambda t=t: ta.bbands(x, 20, 2.0, 2.0, t),
           lambda t=t: talib.BBANDS(x, 20, 2.0, 2.0, t), None, None)
          for t in (1, 2, 3, 4, 5, 6, 7, 8)],
        *[(f"stoch/{NAMES[t]}", m, lambda t=t: ta.stoch(h, lo, c, 5, 3, t, 3, t),
           lambda t=t: talib.STOCH(h, lo, c, 5, 3, t, 3, t), None, None) for t in (1, 5, 6, 8)],
        ("cci(14)", m, lambda: ta.cci(h, lo, c, 14), lambda: talib.CCI(h, lo, c, 14),
         None, None),
        ("adx(14)", m, lambda: ta.adx(h, lo, c, 14), lambda: talib.ADX(h, lo, c, 14),
         None, None),
        ("mfi(14)", m, lambda: ta.mfi(h, lo, c, v, 14), lambda: talib.MFI(h, lo, c, v, 14),
         None, None),
        ("obv", m, lambda: ta.obv(c, v), lambda: talib.OBV(c, v), None, None),
        ("vwap", m, lambda: ta.vwap(h, lo, c, v), lambda: talib.VWAP(h, lo, c, v),
         lambda: ((hs + ls + cs) / 3 * vs).cum_sum() / vs.cum_sum(),
         lambda: ((hp + lp + cp) / 3 * vp).cumsum() / vp.cumsum()),
    ]
    # cift and TA-Lib first, every feature, in alternation (drifts in machine load hit both
    # alike); Polars and pandas after. Their temporaries churn the allocators, and the first
    # touch of fresh output pages right after cost whoever came next up to 1.5x (roc: 0.76
    # of TA-Lib's time on its own, 1.15 timed right after macd's Polars and pandas runs)
    pairs = []
    for _, n, ours, talib_fn, _, _ in cases:
        ours(), talib_fn()  # compile/load outside the timing
        pairs.append([v / n * 1e9 for v in best_pair(ours, talib_fn, 2 * args.repeat)])
        # and on one core: the outputs' pages mapped by the kernel's own first writes
        prefault.ENABLED = False
        pairs[-1] += [v / n * 1e9 for v in best_pair(ours, talib_fn, args.repeat)]
        prefault.ENABLED = True
    print(f"{'feature':<15} {'cift':>8} {'TA-Lib':>8} {'Polars':>8} {'pandas':>8}   "
          "ns/element   cift/TA-Lib (target <= 1.0)   on one core")
    for (name, n, _, _, polars_fn, pandas_fn), t in zip(cases, pairs, strict=True):
        t = t + [best(f, args.repeat) / n * 1e9 if f else float("nan")
                 for f in (polars_fn, pandas_fn)]
        print(f"{name:<15} {t[0]:>8.2f} {t[1]:>8.2f} {t[4]:>8.2f} {t[5]:>8.2f}   "
              f"{'':>10}   {t[0] / t[1]:<27.2f}   {t[2] / t[3]:.2f}", flush=True)
    bench_small(args.repeat)
    bench_micro(args.n, args.repeat)
    bench_streams(args.repeat)


def _calls(fn: Callable, args: tuple, times: int) -> None:
    for _ in range(times):
        fn(*args)  # (each result dropped, as a loop over symbols would)


def bench_small(repeat: int, calls: int = 2000) -> None:
    """Short series, where a call's own cost shows: a year and ten years of daily bars."""
    print(f"\n{'short series':<17} {'cift':>8} {'TA-Lib':>8}   us per call   cift/TA-Lib")
    rng = np.random.default_rng(3)
    for n in (250, 2500):
        c = 100 * np.exp(np.cumsum(rng.normal(0, 1e-2, n)))
        h, lo = c * 1.01, c * 0.99
        for name, ours, theirs, inputs in (("sma(30)", ta.sma, talib.SMA, (c, 30)),
                                           ("rsi(14)", ta.rsi, talib.RSI, (c, 14)),
                                           ("kama(30)", ta.kama, talib.KAMA, (c, 30)),
                                           ("bbands(20)", ta.bbands, talib.BBANDS, (c, 20)),
                                           ("atr(14)", ta.atr, talib.ATR, (h, lo, c, 14))):
            a, b = best_pair(lambda f=ours, i=inputs: _calls(f, i, calls),
                             lambda f=theirs, i=inputs: _calls(f, i, calls), repeat)
            print(f"{f'{name} n={n}':<17} {a / calls * 1e6:>8.2f} {b / calls * 1e6:>8.2f}"
                  f"   {'':>11}   {a / b:.2f}", flush=True)


def _book(n: int) -> dict[str, np.ndarray]:
    """Quotes and trades on a one-cent grid with a few updates per millisecond."""
    rng = np.random.default_rng(1)
    mid = np.round(100 + np.cumsum(rng.choice([-0.01, 0, 0, 0.01], n)), 2)
    half = rng.choice([0.005, 0.005, 0.015], n)
    return {"ts": 1_700_000_000 * 10**9 + np.cumsum(rng.integers(0, 600_000, n)),
            "bid_px": mid - half, "ask_px": mid + half,
            "bid_sz": rng.integers(1, 50, n) * 100.0, "ask_sz": rng.integers(1, 50, n) * 100.0,
            "price": mid + rng.choice([-1, 1], n) * half, "size": rng.integers(1, 20, n) * 100.0,
            "side": rng.choice([-1.0, 1.0], n), "volume": rng.integers(1, 20, n) * 100.0}


def bench_micro(n: int, repeat: int) -> None:
    d = _book(n)
    f = pl.DataFrame(d)
    b, bs, a, as_ = (pl.col(c) for c in ("bid_px", "bid_sz", "ask_px", "ask_sz"))
    flow = (pl.when(b >= b.shift()).then(bs).otherwise(0)
            - pl.when(b <= b.shift()).then(bs.shift()).otherwise(0)
            - pl.when(a <= a.shift()).then(as_).otherwise(0)
            + pl.when(a >= a.shift()).then(as_.shift()).otherwise(0))
    peers = {
        "spread_bps": lambda: f.select((a - b) / ((a + b) / 2) * 1e4),
        "quote_imbalance": lambda: f.select((bs - as_) / (bs + as_)),
        "microprice": lambda: f.select((b * as_ + a * bs) / (bs + as_)),
        "ofi": lambda: f.select(flow.rolling_sum(100)),
        "trade_imbalance": lambda: f.select(pl.col("side").rolling_mean(100)),
        "volume_imbalance": lambda: f.select((pl.col("side") * pl.col("size")).rolling_sum(100)
                                             / pl.col("size").rolling_sum(100)),
    }
    params = {"vpin": {"bucket_volume": 50_000.0}, "ofi_time": {"window": "1s"},
              "vwap_time": {"window": "1s"}, "realized_vol": {"interval": "1m"}}
    print(f"\n{'microstructure':<17} {'cift':>8} {'Polars':>8}   ns/tick (target <= 15)")
    for name, spec in ta.REGISTRY.items():
        if spec.group != "microstructure":
            continue
        fn = getattr(ta, name)
        arrays = [d[i] for i in spec.inputs]
        kwargs = params.get(name, {})
        fn(*arrays, **kwargs)
        ours = best(lambda: fn(*arrays, **kwargs), repeat) / n * 1e9
        peer = best(peers[name], repeat) / n * 1e9 if name in peers else float("nan")
        print(f"{name:<17} {ours:>8.2f} {peer:>8.2f}", flush=True)


def bench_streams(repeat: int, n_one: int = 200_000, n_many: int = 5_000_000) -> None:
    """One update at a time from a Python loop, against talipp; then update_many."""
    from talipp import indicators as tp
    from talipp.ohlcv import OHLCV

    rng = np.random.default_rng(2)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n_many)))
    h, lo = c * 1.001, c * 0.999
    v = rng.integers(1, 1000, n_many).astype(float)
    cols = {**_book(n_many), "real": c, "close": c, "high": h, "low": lo, "volume": v,
            "price": c}
    params = {"vpin": {"bucket_volume": 50_000.0}, "ofi_time": {"window": "1s"},
              "vwap_time": {"window": "1s"}, "realized_vol": {"interval": "1m"}}
    talipp_of = {"sma": lambda: tp.SMA(30), "ema": lambda: tp.EMA(30), "wma": lambda: tp.WMA(30),
                 "rsi": lambda: tp.RSI(14), "macd": lambda: tp.MACD(12, 26, 9),
                 "bbands": lambda: tp.BB(20, 2.0), "stddev": lambda: tp.StdDev(5),
                 "roc": lambda: tp.ROC(10), "atr": lambda: tp.ATR(14), "natr": lambda: tp.NATR(14),
                 "stoch": lambda: tp.Stoch(5, 3), "cci": lambda: tp.CCI(14),
                 "obv": lambda: tp.OBV(), "adx": lambda: tp.ADX(14, 14),
                 "willr": lambda: tp.Williams(14), "vwap": lambda: tp.VWAP(),
                 "dema": lambda: tp.DEMA(30), "tema": lambda: tp.TEMA(30),
                 "kama": lambda: tp.KAMA(30, 2, 30), "t3": lambda: tp.T3(5, 0.7)}
    bars = [OHLCV(c[i], h[i], lo[i], c[i], v[i]) for i in range(20_000)]
    print(f"\n{'stream':<17} {'update':>8} {'talipp':>8} {'ratio':>7} {'many':>7}   "
          "ns/update (target <= 300), many ns/element (target <= 20)")
    for name, spec in ta.REGISTRY.items():
        columns = [cols[i] for i in spec.inputs]
        kwargs = params.get(name, {})
        rows = list(zip(*(col[:n_one].tolist() for col in columns)))

        make = getattr(stream, name)

        def one_by_one(make=make, kwargs=kwargs, rows=rows):  # a fresh stream per run:
            update = make(**kwargs).update                     # time must not go back
            for row in rows:
                update(*row)

        def many(make=make, kwargs=kwargs, columns=columns):
            make(**kwargs).update_many(*columns)

        many()
        t_one = best(one_by_one, repeat) / n_one * 1e9
        t_many = best(many, repeat) / n_many * 1e9
        t_peer = float("nan")
        if name in talipp_of:
            ohlcv = len(spec.inputs) > 1
            values = bars if ohlcv else c[:20_000].tolist()

            def peer(make=talipp_of[name], values=values):
                ind = make()
                for value in values:
                    ind.add(value)

            t_peer = best(peer, 1) / len(values) * 1e9
        print(f"{name:<17} {t_one:>8.0f} {t_peer:>8.0f} {t_one / t_peer:>7.3f} {t_many:>7.2f}",
              flush=True)


if __name__ == "__main__":
    main()
