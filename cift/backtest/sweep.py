"""Parameter sweeps of a :class:`cift.strategy.Strategy`: metrics per combination.

Memory stays bounded: each run's equity curve is dropped as soon as its metrics are taken,
and the feature columns runs share (a run of fast=10, slow=50 reuses fast=10, slow=40's SMA
of 10) are kept in a :class:`cift.strategy.FeatureCache` of 256 MB at most.
Engines: ``"numba"`` (this process: runs on threads, the compiled loops release the GIL),
``"processes"`` (a spawn pool, one worker per core) or a ``dask.distributed.Client`` (for a
sweep that outgrows one machine). Work is shipped as the strategy definition (its ``decide``
must be importable, or picklable by Dask), the bars, the run settings and blocks of parameter
combinations, never closures; each worker pins Numba to one thread so workers sharing a
machine do not oversubscribe it.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import math
import os

import numba as nb
import polars as pl
from tqdm.auto import tqdm

from cift.backtest.engine import run
from cift.backtest.grid import GRID_METRICS
from cift.backtest.pool import process_pool
from cift.errors import ParameterError
from cift.strategy import FeatureCache, Strategy

__all__ = ["sweep"]


def _metrics_block(strategy: Strategy, bars: pl.DataFrame, settings: dict,
                   combos: list[dict], threads: int | None = None,
                   cache: FeatureCache | None = None) -> list[list[float]]:
    """Metrics of each combination (in :data:`GRID_METRICS` order); a worker's task. The
    runs share feature columns through ``cache`` (a new one when None)."""
    if threads is not None:
        nb.set_num_threads(min(threads, nb.config.NUMBA_NUM_THREADS))
    # (an order strategy's features are per symbol, on the event engine: not shared)
    shared = {} if strategy.orders else {
        "feature_cache": FeatureCache() if cache is None else cache}
    out = []
    for combo in combos:
        m = run(strategy, bars, **settings, **shared, **combo).metrics
        # an order-level strategy has no round-trip trade statistics: NaN
        out.append([m.get(k, math.nan) for k in GRID_METRICS])
    return out


def sweep(strategy: Strategy, bars: pl.DataFrame, *, engine: str | object = "numba",
          fees_bps: float = 0.0, fixed_fee: float = 0.0, slippage_bps: float = 0.0,
          init_cash: float = 100_000.0, periods_per_year: float = 252.0,
          allow_short: bool = False, progress: bool = False,
          **grids: list) -> pl.DataFrame:
    """Run ``strategy`` on ``bars`` for every combination of the parameter ``grids``.

    Examples
    --------
    >>> sweep(sma_cross, bars, fast=[5, 10, 20], slow=[50, 100], fees_bps=1)  # doctest: +SKIP

    Returns
    -------
    pl.DataFrame
        One row per combination: its parameters, then :data:`GRID_METRICS`; the same numbers
        on every engine.
    """
    if not grids:
        raise ParameterError("sweep: give at least one parameter grid, e.g. fast=[5, 10]")
    for name, values in grids.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ParameterError(f"{name}: expected a list of values, got {values!r}")
    grids = {name: list(values) for name, values in grids.items()}
    empty = [name for name, values in grids.items() if not values]
    if empty:
        raise ParameterError(f"{empty[0]}: the grid has no values")
    names = list(grids)
    combos = [dict(zip(names, values, strict=True))
              for values in itertools.product(*grids.values())]
    for combo in combos:  # every combination checked before any runs
        strategy.bind(**combo)
    settings = {"fees_bps": fees_bps, "fixed_fee": fixed_fee, "slippage_bps": slippage_bps,
                "init_cash": init_cash, "periods_per_year": periods_per_year}
    if allow_short:  # (an order strategy's run takes no such setting)
        settings["allow_short"] = True
    _check_engine(engine)
    # the first run here: bad bars or settings fail once, plainly, before any pool starts
    cache = FeatureCache()  # this process's runs share feature columns
    rows = _metrics_block(strategy, bars, settings, combos[:1], cache=cache)
    if len(combos) > 1:
        rows += _run_on(engine, strategy, bars, settings, combos[1:], progress, cache)
    params = pl.DataFrame(combos)
    metrics = pl.DataFrame(rows, schema=list(GRID_METRICS), orient="row").with_columns(
        pl.col("max_drawdown_duration", "trades").fill_nan(None).cast(pl.Int64))
    return pl.concat([params, metrics], how="horizontal")


def _is_dask(engine: object) -> bool:
    return hasattr(engine, "submit") and hasattr(engine, "scatter")


def _check_engine(engine: object) -> None:
    if not (engine in ("numba", "processes") if isinstance(engine, str) else _is_dask(engine)):
        raise ParameterError(f"engine: expected 'numba', 'processes' or a "
                             f"dask.distributed Client, got {engine!r}")


def _run_on(engine: str | object, strategy: Strategy, bars: pl.DataFrame, settings: dict,
            combos: list[dict], progress: bool, cache: FeatureCache) -> list[list[float]]:
    bar = tqdm(total=len(combos), desc=f"sweep {strategy.name}", unit="run",
               disable=not progress)
    with bar:
        if isinstance(engine, str):
            if engine == "numba":
                pool = concurrent.futures.ThreadPoolExecutor(nb.get_num_threads())
                blocks = [[c] for c in combos]
                threads = None
            else:
                workers = os.cpu_count() or 1
                pool = process_pool(workers)
                blocks = [combos[i::workers * 2] for i in range(workers * 2)]
                threads = 1
            with pool as executor:
                # threads share this process's cache; each worker process keeps its own
                futures = [executor.submit(_metrics_block, strategy, bars, settings, b, threads,
                                           cache if threads is None else None)
                           for b in blocks if b]
                for f in futures:  # (a failed block raises below, from f.result())
                    f.add_done_callback(lambda f: f.exception() or bar.update(len(f.result())))
                parts = [f.result() for f in futures]
            order = [c for b in blocks if b for c in b]
        else:  # a dask Client
            workers = max(len(engine.scheduler_info().get("workers", {})), 1)
            blocks = [b for b in (combos[i::workers * 2] for i in range(workers * 2)) if b]
            bars_f = engine.scatter(bars, broadcast=True)
            futures = [engine.submit(_metrics_block, strategy, bars_f, settings, b, 1,
                                     pure=False) for b in blocks]
            parts = engine.gather(futures)
            bar.update(len(combos))
            order = [c for b in blocks for c in b]
    by_combo = {tuple(c.values()): row for c, row in
                zip(order, (r for part in parts for r in part), strict=True)}
    return [by_combo[tuple(c.values())] for c in combos]
