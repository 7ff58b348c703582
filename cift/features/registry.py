"""What each feature is: inputs, parameters with their valid ranges, warm-up, outputs.

Strategies and widgets list features from here (:func:`describe`); the NumPy API validates
every call against the same specs, so a bad window is a :class:`ParameterError` naming the
parameter, never a Numba typing traceback.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import polars as pl

from cift.data.timestamps import parse_duration
from cift.errors import ParameterError

__all__ = ["FeatureSpec", "Layout", "Param", "REGISTRY", "describe"]


@dataclass(frozen=True)
class Param:
    """One parameter: its default and the closed range [lo, hi] it must lie in."""

    name: str
    default: int | float
    lo: float
    hi: float
    integer: bool = True
    duration: bool = False  # a time span: "5s", "100ms", a timedelta or integer nanoseconds
    hint: str = ""  # said after an out-of-range value

    def check(self, value: object) -> int | float:
        """The value, validated (ints for integer parameters, nanoseconds for durations)."""
        if self.duration:
            value = _nanoseconds(self.name, value)
        kind = "an integer" if self.integer else "a number"
        # (NumPy's numbers too: a grid of np.arange(5, 50, 5) holds np.int64s; a plain int,
        # the common case, skips the slower ABC test)
        if type(value) is not int and (isinstance(value, bool) or not isinstance(
                value, numbers.Real) or (self.integer and not float(value).is_integer())):
            raise_param(self.name, f"expected {kind}, got {value!r}")
        if not self.lo <= value <= self.hi:
            wanted = (f"{self.lo:g}" if self.lo == self.hi else
                      f"{kind} in [{self.lo:g}, {self.hi:g}]")
            raise_param(self.name, f"expected {wanted}, got {value!r}{self.hint}")
        return int(value) if self.integer else float(value)


def _nanoseconds(name: str, value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value, name=name)
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1) * 1000
    return value


def raise_param(name: str, message: str) -> None:
    raise ParameterError(f"{name}: {message}")


@dataclass(frozen=True)
class FeatureSpec:
    """A feature: name, input arrays, parameters, outputs, and its warm-up length."""

    name: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    lookback: Callable[..., int]  # called with the parameters by name
    summary: str
    group: str = "technical"
    carries_nan: bool = False  # its arithmetic already makes every output after a NaN NaN
    prepare: Callable[[dict], None] | None = None  # adjusts checked values (TA-Lib's swaps)

    def bind(self, args: tuple, kwargs: dict) -> dict:
        """Parameters given by position and name (defaults for the rest), checked."""
        names = self._names
        if len(args) > len(names):
            raise_param(self.name, f"takes {len(names)} parameters, got {len(args)}")
        values = dict(self._defaults)
        values.update(zip(names, args))
        if kwargs:
            for name in kwargs:
                if name not in values:
                    raise_param(self.name, f"unexpected argument {name!r}")
                if name in names[:len(args)]:
                    raise_param(self.name, f"got multiple values for {name!r}")
            values.update(kwargs)
        return self.check(values)

    @cached_property
    def _names(self) -> tuple[str, ...]:  # (bind runs on every feature call: made once)
        return tuple(p.name for p in self.params)

    @cached_property
    def _defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def check(self, values: dict) -> dict:
        """The parameters by name, each validated, then adjusted as TA-Lib does."""
        checked = {p.name: p.check(values[p.name]) for p in self.params}
        if self.prepare is not None:
            self.prepare(checked)
        return checked


REGISTRY: dict[str, FeatureSpec] = {}


@dataclass(frozen=True)
class Layout:
    """How a feature keeps its state: built from its parameters (and, for a time window, a
    ring capacity), advanced by its step, run over arrays by its bulk loop."""

    state: Callable[..., list[float]]
    step: Callable
    many: Callable
    windowed: bool = False  # a time window: the state holds a ring of ``capacity`` events
    count_at: int = 0  # where the state counts its inputs (after any parameters it keeps)


def describe() -> pl.DataFrame:
    """Every feature: name, group, inputs, parameters (name=default [lo, hi]), outputs, summary."""
    rows = [{
        "name": s.name, "group": s.group, "inputs": ", ".join(s.inputs),
        "params": ", ".join(f"{p.name}={p.default} [{p.lo:g}, {p.hi:g}]" for p in s.params),
        "outputs": ", ".join(s.outputs),
        "lookback": s.lookback(**{p.name: p.default for p in s.params}),
        "summary": s.summary,
    } for s in sorted(REGISTRY.values(), key=lambda s: (s.group, s.name))]
    return pl.DataFrame(rows)
