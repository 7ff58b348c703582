"""Backtests: signal research on a Numba loop, metrics with empyrical's conventions.

>>> from cift.backtest import from_signals
>>> res = from_signals(close, entries, exits, open=open_, fees_bps=1)   # doctest: +SKIP
>>> res.metrics["sharpe"], res.trades, res.plot()                       # doctest: +SKIP
"""

from cift.backtest.engine import run
from cift.backtest.grid import GRID_METRICS, signal_grid
from cift.backtest.metrics import return_metrics
from cift.backtest.signals import BacktestResult, crossings, from_signals
from cift.backtest.simulate import SimulationResult, simulate
from cift.backtest.sweep import sweep

__all__ = ["GRID_METRICS", "BacktestResult", "SimulationResult", "crossings", "from_signals",
           "monthly_heatmap", "return_metrics", "run", "signal_grid", "simulate", "sweep",
           "sweep_heatmap", "tearsheet"]

_FIGURES = ("monthly_heatmap", "sweep_heatmap", "tearsheet")  # (Plotly loads on first use)


def __getattr__(name: str) -> object:
    if name in _FIGURES:
        from cift.backtest import report

        return getattr(report, name)
    raise AttributeError(f"module 'cift.backtest' has no attribute {name!r}")
