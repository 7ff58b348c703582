"""Run a :class:`cift.strategy.Strategy` over bars: its ``decide`` called once per bar.

The rules are those of :func:`cift.backtest.from_signals` (a decision on bar t fills at bar
t+1's open; long/flat, all cash in; fees on top of the notional; slippage against the order),
so a strategy whose decisions are a crossover gives exactly the signal backtest's result.

Both sides and long/flat run on the one step of :mod:`cift.backtest.shorts` (long/flat is
its case with no short signal), which runs only where the side asked for changes. Two paths,
the same results: a Numba ``decide`` is compiled into the loop (no Python per bar); any other
callable runs in a Python loop that calls the same compiled step (the slower path, for logic
Numba cannot express).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import polars as pl
from numba.core.registry import CPUDispatcher

from cift.backtest import shorts
from cift.backtest.entry import entry_point
from cift.backtest.metrics import stats_dict, stats_finish, stats_new, stats_push
from cift.backtest.signals import BacktestResult, _check_costs, _prices, _trade_stats
from cift.data.validate import not_a_frame
from cift.errors import ParameterError
from cift.strategy import FeatureCache, Strategy

__all__ = ["run"]


def run(strategy: Strategy, bars: pl.DataFrame, *, fees_bps: float = 0.0,
        fixed_fee: float = 0.0, slippage_bps: float = 0.0, init_cash: float = 100_000.0,
        periods_per_year: float = 252.0, allow_short: bool = False,
        feature_cache: FeatureCache | None = None, **params: object) -> BacktestResult:
    """Backtest ``strategy`` on ``bars`` (open, high, low, close, volume, and ts if any).

    ``decide`` returns the target: > 0 long, <= 0 flat; with ``allow_short``, < 0 short and
    0 flat (the long/short rules of :mod:`cift.backtest.shorts`: all cash in, a change of
    side is one order).

    A strategy that places orders (``Strategy(..., orders=True)``) runs on the event engine
    instead, :func:`cift.backtest.simulate`, and gives its SimulationResult.

    Parameters
    ----------
    strategy : Strategy
    bars : pl.DataFrame
        One row per bar, in time order (ts strictly increasing when present).
    fees_bps, fixed_fee, slippage_bps, init_cash, periods_per_year :
        As in :func:`cift.backtest.from_signals`.
    allow_short : bool
        Whether a negative target sells short (else it means flat).
    feature_cache : FeatureCache, optional
        Feature columns of earlier runs on the same ``bars``, and where this run's go (what
        :func:`cift.backtest.sweep` shares between its runs). Not used by the event engine.
    **params
        Strategy parameters (defaults for the rest), checked against their ranges.
    """
    if not isinstance(strategy, Strategy):
        raise ParameterError(f"strategy: expected a cift Strategy, got "
                             f"{type(strategy).__name__}")
    if strategy.orders:  # it places orders: the event engine
        from cift.backtest.simulate import simulate

        return simulate(strategy, bars=bars, params=params, fees_bps=fees_bps,
                        fixed_fee=fixed_fee, slippage_bps=slippage_bps, init_cash=init_cash,
                        periods_per_year=periods_per_year, allow_short=allow_short)
    if not isinstance(bars, pl.DataFrame):
        raise ParameterError(f"bars: expected a Polars DataFrame, got {not_a_frame(bars)}")
    if "close" not in bars.columns:
        raise ParameterError("bars: expected a Polars frame with at least a close column")
    if bars.height == 0:
        raise ParameterError("bars: the frame has no rows")
    if "symbol" in bars.columns and bars["symbol"].n_unique() > 1:
        raise ParameterError(f"bars: {bars['symbol'].n_unique()} symbols in one frame; run "
                             f"one symbol's bars at a time (or a Strategy with orders=True, "
                             f"which trades many on the event engine)")
    p = strategy.bind(**params)
    close, price = _prices(bars["close"], bars["open"] if "open" in bars.columns else None)
    _check_costs(fees_bps, fixed_fee, slippage_bps, init_cash, periods_per_year)
    index = None
    if "ts" in bars.columns:
        from cift.backtest.signals import _bar_times

        index = _bar_times(bars["ts"], len(close))
    features = np.ascontiguousarray(strategy.feature_matrix(bars, p, feature_cache))
    return _run(strategy, close, price, features, p, fees_bps * 1e-4, float(fixed_fee),
                slippage_bps * 1e-4, float(init_cash), float(periods_per_year), index,
                bool(allow_short))


@nb.njit(cache=True)
def _stats_of(equity, init_cash):
    """The statistics state of an equity curve, folded bar by bar as the compiled loop does."""
    stats = stats_new()
    prev = init_cash
    for i in range(equity.shape[0]):
        stats = stats_push(stats, equity[i] / prev - 1.0)
        prev = equity[i]
    return stats


def side_of(target: float, allow_short: bool) -> int:
    """The side a target asks for: 1 long, -1 short, 0 flat (NaN: flat)."""
    if target > 0.0:
        return 1
    return -1 if allow_short and target < 0.0 else 0


_side = nb.njit(cache=True, inline="always")(side_of)  # the same rule in the compiled loop


@nb.njit(nogil=True)  # sweeps run several at once on threads
def _run_compiled(decide, close, price, features, params, st, trades, fee, fixed_fee,
                  slippage, allow_short, equity):
    """The whole run with ``decide`` compiled in; returns the statistics state and the
    number of bars in a position.

    The step runs only on a bar whose side differs from the bar before's: with the same
    side the state cannot change (in that position already, or refused for want of cash,
    which has not changed since), so the bar is only valued, with the step's own sum. A
    step on every bar kept the state in memory and cost ~25 ns a bar; this loop, ~5.
    """
    stats = stats_new()
    prev = st[shorts.CASH]
    cash, pos = st[shorts.CASH], st[shorts.POS]
    side = 0  # as the target before the first bar: flat
    exposure = 0  # bars in a position
    target = 0.0
    for i in range(close.shape[0]):
        now = _side(target, allow_short)
        if now != side:
            side = now
            value = shorts.step(st, trades, i, now > 0, now <= 0, now < 0, now >= 0,
                                price[i], close[i], fee, fixed_fee, slippage)
            cash, pos = st[shorts.CASH], st[shorts.POS]
        else:
            value = cash + pos * close[i]
        exposure += pos != 0.0
        equity[i] = value
        stats = stats_push(stats, value / prev - 1.0)
        prev = value
        target = decide(features[i], pos, cash, params)
    return stats, exposure


def _run(strategy: Strategy, close: np.ndarray, price: np.ndarray, features: np.ndarray,
         p: np.ndarray, fee: float, fixed_fee: float, slip: float, init_cash: float,
         periods_per_year: float, index: np.ndarray | None,
         allow_short: bool) -> BacktestResult:
    n = len(close)
    st = np.zeros(shorts.FIELDS)
    st[shorts.CASH] = init_cash
    trades = np.zeros((7, n + 1))
    equity = np.empty(n)
    if isinstance(strategy.decide, CPUDispatcher):
        stats, exposure = _run_compiled(strategy.decide, close, price, features, p, st, trades, fee,
                              fixed_fee, slip, allow_short, equity)
    else:  # the Python path: the same compiled step, called where the compiled loop does
        target, decide = 0.0, strategy.decide
        step = entry_point(shorts.step, st, trades, 0, True, False, True, False, 1.0, 1.0,
                           fee, fixed_fee, slip)
        # Python floats: indexing a list is several times cheaper than a NumPy array
        price_of, close_of = price.tolist(), close.tolist()
        cash, pos, side, exposure = init_cash, 0.0, 0, 0
        for i in range(n):
            now = side_of(target, allow_short)
            if now != side:
                side = now
                equity[i] = step(st, trades, i, now > 0, now <= 0, now < 0, now >= 0,
                                 price_of[i], close_of[i], fee, fixed_fee, slip)
                cash, pos = float(st[shorts.CASH]), float(st[shorts.POS])
            else:
                equity[i] = cash + pos * close_of[i]
            exposure += pos != 0.0
            target = decide(features[i], pos, cash, p)
        # the statistics of the same returns, folded in the same order: the same numbers
        stats = _stats_of(equity, init_cash)
    k = shorts.close_open_trade(st, trades, close[-1])
    cols = trades[:, :k]
    metrics = stats_dict(stats_finish(stats, periods_per_year))
    hit_rate, profit_factor = _trade_stats(cols)
    metrics |= {"trades": k, "hit_rate": hit_rate, "profit_factor": profit_factor,
                "exposure": exposure / n,
                "turnover": st[shorts.TRADED] / float(np.mean(equity))}
    return BacktestResult(cols, metrics, init_cash, float(equity[-1]), close, index, equity)
