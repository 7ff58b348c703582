"""One strategy definition: the features it reads, its typed parameters, and a decision
function called once per bar with O(1) state.

The same ``decide`` runs in research, in the backtester (compiled into its loop when it is a
Numba function, called from Python otherwise) and, later, in the live runner per tick::

    @numba.njit
    def decide(row, position, cash, params):   # row: this bar's feature values
        return 1.0 if row[0] > row[1] else 0.0  # the target: 1 long, 0 flat

    sma_cross = Strategy(
        "sma_cross",
        params=(Param("fast", 10, 2, 500), Param("slow", 50, 2, 5000)),
        features={"fast": Use("sma", timeperiod="fast"), "slow": Use("sma", timeperiod="slow")},
        decide=decide,
    )

A feature parameter given as a string names a strategy parameter; anything else is a
constant. ``decide(row, position, cash, params)`` gets the feature row of the bar that just
closed, the units held, the cash, and the strategy's parameters as a float64 array in the
order of ``params``; it returns the target: > 0 to be long, <= 0 to be flat, all cash in
(``run(..., allow_short=True)``: < 0 short, 0 flat).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cift.errors import ParameterError
from cift.features.registry import REGISTRY, Param

__all__ = ["FeatureCache", "Param", "Strategy", "Use"]

#: Bar columns a feature input reads by default (TA-Lib's input names -> bar columns).
_DEFAULT_COLUMNS = {"real": "close", "high": "high", "low": "low", "close": "close",
                    "open": "open", "volume": "volume"}


class Use:
    """One feature a strategy reads: a registry feature, its parameters, which output."""

    def __init__(self, feature: str, *, output: int = 0,
                 inputs: Mapping[str, str] | None = None, **params: object) -> None:
        self.feature = feature
        self.output = output
        self.inputs = dict(inputs or {})
        self.params = dict(params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Use({self.feature!r}{', ' + args if args else ''})"


@dataclass(frozen=True)
class Strategy:
    """A strategy: name, typed parameters, the features it reads, and its decision function.

    Checked when defined: every feature exists in the registry, every parameter a feature
    names exists, every output index is valid.
    """

    name: str
    params: tuple[Param, ...]
    features: Mapping[str, Use]
    decide: Callable = field(repr=False)
    #: True when ``decide`` places orders (``decide(ev, feat, out, params, state)``, run by
    #: :func:`cift.backtest.simulate` over ticks, quotes or bars) instead of returning a
    #: target position
    orders: bool = False

    def __post_init__(self) -> None:
        names = {p.name for p in self.params}
        for column, use in self.features.items():
            spec = REGISTRY.get(use.feature)
            if spec is None:
                raise ParameterError(f"{self.name}: feature {column!r} asks for "
                                     f"{use.feature!r}, which is not a cift feature "
                                     f"(see cift.features.describe())")
            if not 0 <= use.output < len(spec.outputs):
                raise ParameterError(f"{self.name}: {use.feature} has outputs "
                                     f"{spec.outputs}, not #{use.output}")
            known = {p.name for p in spec.params}
            for key, value in use.params.items():
                if key not in known:
                    raise ParameterError(f"{self.name}: {use.feature} has no parameter "
                                         f"{key!r} (has {sorted(known)})")
                if isinstance(value, str) and value not in names:
                    raise ParameterError(f"{self.name}: {use.feature}.{key} refers to "
                                         f"{value!r}, which is not a strategy parameter")

    def bind(self, **values: object) -> np.ndarray:
        """The parameter vector ``decide`` gets: defaults, overridden by ``values``, checked."""
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise ParameterError(f"{self.name}: unknown parameter(s) {sorted(unknown)}")
        return np.array([p.check(values.get(p.name, p.default)) for p in self.params],
                        dtype=np.float64)

    def feature_matrix(self, bars: pl.DataFrame, params: np.ndarray,
                       cache: FeatureCache | None = None) -> np.ndarray:
        """Every feature on ``bars`` as the columns of one (bars x features) float64 matrix.

        ``cache``: columns of earlier calls on the same bars (a sweep's runs share those
        whose parameters they share), and where this call's columns go.
        """
        from cift import features as ft

        by_name = dict(zip((p.name for p in self.params), params.tolist(), strict=True))
        out = np.empty((bars.height, len(self.features)))
        for j, (column, use) in enumerate(self.features.items()):
            spec = REGISTRY[use.feature]
            names = tuple(use.inputs.get(name, _DEFAULT_COLUMNS.get(name, name))
                          for name in spec.inputs)
            for col in names:
                if col not in bars.columns:
                    raise ParameterError(f"{self.name}: feature {column!r} needs column "
                                         f"{col!r}, which the bars do not have")
            kwargs = {k: by_name[v] if isinstance(v, str) else v
                      for k, v in use.params.items()}
            # (the parameters by repr: always hashable, and exact for numbers)
            key = (use.feature, use.output, names, repr(sorted(kwargs.items())))
            values = None if cache is None else cache.get(key)
            if values is None:
                values = getattr(ft, use.feature)(
                    *(bars.get_column(col).to_numpy() for col in names), **kwargs)
                values = values[use.output] if isinstance(values, tuple) else values
                if cache is not None:
                    cache.put(key, values)
            out[:, j] = values
        return out


class FeatureCache:
    """Feature columns kept for the runs of a sweep on the same bars: a column depends on
    its feature, inputs and parameters only, so runs that share those share it. Bounded:
    past ``budget`` bytes the least recently used column goes. Safe to share between
    threads (a column two threads miss at once is computed twice, kept once)."""

    def __init__(self, budget: int = 256 << 20) -> None:
        self.budget = budget
        self._columns: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> np.ndarray | None:
        """The column kept under ``key``, or None."""
        with self._lock:
            values = self._columns.get(key)
            if values is not None:
                self._columns.move_to_end(key)
            return values

    def put(self, key: tuple, values: np.ndarray) -> None:
        """Keep ``values`` under ``key`` (not when it alone is over the budget)."""
        with self._lock:
            if key in self._columns or values.nbytes > self.budget:
                return
            self._columns[key] = values
            self._bytes += values.nbytes
            while self._bytes > self.budget:
                _, old = self._columns.popitem(last=False)
                self._bytes -= old.nbytes
