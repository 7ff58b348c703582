"""Storage behind one interface, chosen by URL.

``cift.connect()`` opens the embedded lake under CIFT_HOME; ``cift.connect("lake:///path")``
or a plain directory path opens a lake elsewhere. Adapters register a URL scheme with
:func:`register_store` (or the ``cift.stores`` entry-point group), so a user can add a store
without editing cift.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlsplit

from cift.config import load_settings
from cift.errors import StoreError
from cift.store.base import Store, TimeRange, WriteResult
from cift.store.lake import Lake

__all__ = ["Lake", "Store", "TimeRange", "WriteResult", "connect", "register_store"]

StoreFactory = Callable[[str], Store]
_REGISTRY: dict[str, StoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make ``connect("<scheme>://...")`` call ``factory(url)``."""
    _REGISTRY[scheme.lower()] = factory


def _open_lake(url: str) -> Lake:
    parts = urlsplit(url)
    path = (parts.netloc + parts.path) if parts.scheme else url
    if not path:
        raise StoreError(f"{url!r}: a lake URL needs a directory, e.g. lake:///data/cift")
    return Lake(Path(path))


register_store("lake", _open_lake)
register_store("file", _open_lake)


def _factory(scheme: str) -> StoreFactory | None:
    if scheme not in _REGISTRY:
        for ep in entry_points(group="cift.stores"):
            if ep.name == scheme:
                register_store(scheme, ep.load())
    return _REGISTRY.get(scheme)


def connect(url: str | None = None) -> Store:
    """Open a store.

    Parameters
    ----------
    url : str, optional
        ``lake:///path`` (or a plain path) for an embedded lake; other schemes as registered.
        None: CIFT_STORE if set, else the embedded lake under CIFT_HOME.

    Examples
    --------
    >>> store = cift.connect()                      # doctest: +SKIP
    >>> store.ticks("AAPL", "2024-01-02", "2024-01-03")  # doctest: +SKIP
    """
    if url is None:
        settings = load_settings()
        if settings.store is None:
            return Lake(settings.lake_dir)
        url = settings.store
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"store URL must be a non-empty string, got {url!r}")
    scheme = urlsplit(url).scheme.lower()
    if not scheme or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        return _open_lake(url)
    factory = _factory(scheme)
    if factory is None:
        known = ", ".join(sorted(_REGISTRY))
        raise StoreError(f"no store for URL scheme '{scheme}://' (known: {known})")
    return factory(url)
