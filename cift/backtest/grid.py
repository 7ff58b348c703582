"""Grids: many signal sets on the same prices, on Numba threads, processes or Dask.

Each combination is one long/flat run of :mod:`cift.backtest.signals` keeping only its
metrics, so memory holds the signal matrices and nothing that grows with the bars times the
combinations. Work is shipped to processes and Dask workers as plain arrays and a frozen
:class:`Costs` (never closures), in blocks of combinations; each worker runs its block on one
Numba thread, so workers sharing a machine do not oversubscribe its cores.
"""

from __future__ import annotations

import os
from dataclasses import astuple, dataclass

import numba as nb
import numpy as np
import polars as pl

from cift.backtest.metrics import METRICS, stats_finish
from cift.backtest.pool import process_pool
from cift.backtest.signals import ArrayLike, _check_costs, _long_flat, _prices, _trade_stats
from cift.errors import ParameterError

__all__ = ["GRID_METRICS", "Costs", "signal_grid"]

#: Metrics of a grid run, per combination, in order.
GRID_METRICS = (*METRICS, "trades", "hit_rate", "profit_factor", "exposure", "turnover")


@dataclass(frozen=True)
class Costs:
    """The run settings shipped with every block: cash, fees, slippage, annualization."""

    init_cash: float
    fee: float
    fixed_fee: float
    slippage: float
    periods_per_year: float


@nb.njit(cache=True, parallel=True)
def _grid(close, price, entries, exits, init_cash, fee, fixed_fee, slippage, ppy, out):
    """One long/flat run per row of ``entries``/``exits`` (combinations x bars), in parallel
    threads; metrics only (no equity curve is kept, so memory does not grow with the grid)."""
    n = close.shape[0]
    no_equity = np.empty(0)
    for j in nb.prange(entries.shape[0]):
        trades, exposure, traded, equity_sum, stats, _ = _long_flat(
            close, price, entries[j], exits[j], init_cash, fee, fixed_fee, slippage, no_equity)
        values = stats_finish(stats, ppy)
        for m in range(8):
            out[j, m] = values[m]
        hit, factor = _trade_stats(trades)
        out[j, 8] = trades.shape[1]
        out[j, 9] = hit
        out[j, 10] = factor
        out[j, 11] = exposure / n
        out[j, 12] = traded / (equity_sum / n)


def run_block(close: np.ndarray, price: np.ndarray, entries: np.ndarray, exits: np.ndarray,
              costs: Costs, threads: int | None = None) -> np.ndarray:
    """Metrics (combinations x GRID_METRICS) of a block of rows; on a worker, one thread."""
    if threads is not None:
        nb.set_num_threads(min(threads, nb.config.NUMBA_NUM_THREADS))
    out = np.empty((entries.shape[0], len(GRID_METRICS)))
    c = astuple(costs)
    _grid(close, price, entries, exits, c[0], c[1], c[2], c[3], c[4], out)
    return out


def run_grid(close: np.ndarray, price: np.ndarray, entries: np.ndarray, exits: np.ndarray,
             costs: Costs, engine: str | object) -> np.ndarray:
    """Run every row of ``entries``/``exits`` on ``engine`` (see :func:`signal_grid`)."""
    m = entries.shape[0]
    if isinstance(engine, str) and engine == "numba":
        return run_block(close, price, entries, exits, costs)
    if isinstance(engine, str) and engine == "processes":
        workers = min(os.cpu_count() or 1, max(m, 1))
        blocks = np.array_split(np.arange(m), workers * 2)
        with process_pool(workers) as pool:
            parts = list(pool.map(run_block, *zip(*[
                (close, price, entries[b], exits[b], costs, 1) for b in blocks], strict=True)))
        return np.concatenate(parts) if parts else np.empty((0, len(GRID_METRICS)))
    if hasattr(engine, "submit") and hasattr(engine, "scatter"):  # a dask.distributed Client
        workers = max(len(engine.scheduler_info().get("workers", {})), 1)
        blocks = np.array_split(np.arange(m), workers * 2)
        close_f, price_f = engine.scatter([close, price], broadcast=True)
        futures = [engine.submit(run_block, close_f, price_f, entries[b], exits[b], costs, 1,
                                 pure=False) for b in blocks]
        parts = engine.gather(futures)
        return np.concatenate(parts) if parts else np.empty((0, len(GRID_METRICS)))
    raise ParameterError(f"engine: expected 'numba', 'processes' or a dask.distributed "
                         f"Client, got {engine!r}")


def signal_grid(close: ArrayLike, entries: np.ndarray, exits: np.ndarray, *,
                open: ArrayLike | None = None, fees_bps: float = 0.0,
                fixed_fee: float = 0.0, slippage_bps: float = 0.0,
                init_cash: float = 100_000.0, periods_per_year: float = 252.0,
                labels: pl.DataFrame | None = None,
                engine: str | object = "numba") -> pl.DataFrame:
    """Metrics of many signal sets on the same prices, in parallel (vectorbt's 2D signals).

    Each column of ``entries``/``exits`` (bars x combinations) is one :func:`from_signals`
    run with the same rules and costs, giving the same metrics; runs share the Numba threads
    and keep no equity curves, so memory stays at the signal matrices.

    Parameters
    ----------
    entries, exits : 2D arrays of bool, shape (bars, combinations)
        exits None: no exit signals (each position held to the end).
    labels : pl.DataFrame, optional
        One row per combination (e.g. its parameters), put in front of the metrics.
    engine : "numba", "processes" or a ``dask.distributed.Client``
        Where the runs go: this process's Numba threads (default); a pool of worker
        processes, one per core; or the workers of a Dask cluster, for a grid that outgrows
        one machine. Every engine gives the same metrics.

    Returns
    -------
    pl.DataFrame
        One row per combination: the labels, then :data:`GRID_METRICS`.
    """
    c, price = _prices(close, open)
    n = len(c)
    if exits is None:
        exits = np.zeros(np.shape(entries), bool)
    grids = []
    for name, arr in (("entries", entries), ("exits", exits)):
        arr = np.asarray(arr)
        if arr.ndim != 2 or arr.shape[0] != n:
            raise ParameterError(f"{name}: expected shape (bars={n}, combinations), "
                                 f"got {arr.shape}")
        if arr.dtype != np.bool_:
            raise ParameterError(f"{name}: expected booleans, got dtype {arr.dtype}")
        # one row per combination (no copy when the caller built it so: a transposed view)
        grids.append(np.ascontiguousarray(arr.T))
    if grids[0].shape != grids[1].shape:
        raise ParameterError(f"entries {entries.shape} and exits {exits.shape} differ")
    _check_costs(fees_bps, fixed_fee, slippage_bps, init_cash, periods_per_year)
    if labels is not None and labels.height != grids[0].shape[0]:
        raise ParameterError(f"labels: {labels.height} rows for {grids[0].shape[0]} "
                             f"combinations")
    costs = Costs(float(init_cash), fees_bps * 1e-4, float(fixed_fee), slippage_bps * 1e-4,
                  float(periods_per_year))
    out = run_grid(c, price, grids[0], grids[1], costs, engine)
    metrics = pl.DataFrame(out, schema=list(GRID_METRICS), orient="row").with_columns(
        pl.col("max_drawdown_duration", "trades").cast(pl.Int64))
    return metrics if labels is None else pl.concat([labels, metrics], how="horizontal")
