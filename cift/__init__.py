"""cift: a Jupyter-centric quant research platform.

>>> import cift
>>> store = cift.connect()            # the embedded lake under CIFT_HOME   # doctest: +SKIP
>>> store.bars("AAPL", "1m", "2024-01-02", "2024-01-03")                   # doctest: +SKIP

The names below the errors, and the subpackages (``cift.features``, ``cift.backtest``...),
are imported on first use: ``import cift`` alone (and so every ``import cift.<module>``)
stays cheap, and a process that only computes features never loads the stores.
"""

import sys
from importlib import import_module

from cift._namespace import register as _register_namespace
from cift._version import __version__
from cift.config import Settings, load_settings
from cift.errors import CiftError, ConfigError, DataError, JobError, ParameterError, StoreError

#: name -> the module it comes from, imported when the name is first read
_LAZY = {
    **dict.fromkeys(("AsyncStore", "Lake", "Store", "Trade", "connect", "connect_async",
                     "register_store"), "cift.store"),
    **dict.fromkeys(("apply_tick_rule", "dollar_bars", "tick_rule", "time_bars",
                     "volume_bars"), "cift.data.bars"),
    "synthetic_market": "cift.data.synthetic",
    "sweep": "cift.backtest",
    **dict.fromkeys(("Param", "Strategy", "Use"), "cift.strategy"),
}
#: ``cift.features.rsi(...)`` after a plain ``import cift``
_SUBPACKAGES = ("backtest", "data", "features", "jobs", "store", "strategy")

__all__ = [
    "AsyncStore",
    "CiftError",
    "ConfigError",
    "DataError",
    "JobError",
    "Lake",
    "Param",
    "ParameterError",
    "Settings",
    "Store",
    "StoreError",
    "Strategy",
    "Trade",
    "Use",
    "__version__",
    "apply_tick_rule",
    "connect",
    "connect_async",
    "dollar_bars",
    "load_settings",
    "register_store",
    "sweep",
    "synthetic_market",
    "tick_rule",
    "time_bars",
    "volume_bars",
]


if "polars" in sys.modules:  # pl.col(...).cift in a session that has Polars already
    _register_namespace()


def __getattr__(name: str) -> object:
    if name in _SUBPACKAGES:
        _register_namespace()  # (each loads Polars anyway)
        return import_module(f"cift.{name}")  # (the import binds it here too)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cift' has no attribute {name!r}")
    _register_namespace()
    value = getattr(import_module(module), name)
    globals()[name] = value  # read once: later reads are plain attribute lookups
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBPACKAGES))
