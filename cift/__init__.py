"""cift: a Jupyter-centric quant research platform.

>>> import cift
>>> store = cift.connect()            # the embedded lake under CIFT_HOME   # doctest: +SKIP
>>> store.bars("AAPL", "1m", "2024-01-02", "2024-01-03")                   # doctest: +SKIP
"""

from cift._version import __version__
from cift.config import Settings, load_settings
from cift.data.bars import apply_tick_rule, dollar_bars, tick_rule, time_bars, volume_bars
from cift.data.synthetic import synthetic_market
from cift.errors import CiftError, ConfigError, DataError, JobError, ParameterError, StoreError
from cift.store import (
    AsyncStore,
    Lake,
    Store,
    Trade,
    connect,
    connect_async,
    register_store,
)

__all__ = [
    "AsyncStore",
    "CiftError",
    "ConfigError",
    "DataError",
    "JobError",
    "Lake",
    "ParameterError",
    "Settings",
    "Store",
    "StoreError",
    "Trade",
    "__version__",
    "apply_tick_rule",
    "connect",
    "connect_async",
    "dollar_bars",
    "load_settings",
    "register_store",
    "synthetic_market",
    "tick_rule",
    "time_bars",
    "volume_bars",
]
