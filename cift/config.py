"""Settings: where cift keeps its data and which store it talks to.

Sources, highest priority first: environment variables ``CIFT_HOME``, ``CIFT_STORE`` and
``CIFT_REDIS_URL``;
a ``cift.toml`` (the file named by ``CIFT_CONFIG``, else ``./cift.toml``); defaults.

``cift.toml``::

    home = "~/research/cift"          # the embedded lake and run outputs live here
    store = "postgresql://me@db/cift"  # optional; unset means the embedded lake
    redis = "redis://cache:6379/0"     # optional; the hot cache of latest trades and quotes
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from cift.errors import ConfigError

__all__ = ["Settings", "load_settings"]

_KEYS = ("home", "store", "redis")


@dataclass(frozen=True)
class Settings:
    """Frozen, serializable settings.

    Parameters
    ----------
    home : Path
        CIFT_HOME: the embedded lake lives in ``home / "lake"``, run outputs in ``home / "runs"``.
    store : str or None
        CIFT_STORE: a store URL; None means the embedded lake under ``home``.
    redis : str or None
        CIFT_REDIS_URL: a Redis URL for the hot cache of latest trades and quotes; None: no
        cache (``latest()`` asks the store).
    """

    home: Path
    store: str | None = None
    redis: str | None = None

    @property
    def lake_dir(self) -> Path:
        """Directory of the embedded Parquet lake."""
        return self.home / "lake"

    @property
    def runs_dir(self) -> Path:
        """Directory of executed notebooks and reports."""
        return self.home / "runs"

    def to_dict(self) -> dict[str, str | None]:
        """A plain dict (for shipping to another process or writing to a run record)."""
        d = asdict(self)
        d["home"] = str(self.home)
        return d


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {unknown}; known: {list(_KEYS)}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a string, got {type(value).__name__}")
    return data


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment and ``cift.toml``.

    Parameters
    ----------
    environ : dict, optional
        The environment to read (default ``os.environ``); tests pass their own.
    """
    env = os.environ if environ is None else environ
    config_path = env.get("CIFT_CONFIG")
    if config_path:
        path = Path(config_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"CIFT_CONFIG names {path}, which is not a file")
        file_values = _read_toml(path)
    elif Path("cift.toml").is_file():
        file_values = _read_toml(Path("cift.toml"))
    else:
        file_values = {}

    home = env.get("CIFT_HOME") or file_values.get("home") or "~/.cift"
    store = env.get("CIFT_STORE") or file_values.get("store") or None
    redis = env.get("CIFT_REDIS_URL") or file_values.get("redis") or None
    return Settings(home=Path(str(home)).expanduser().resolve(), store=store, redis=redis)
