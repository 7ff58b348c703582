"""Storage behind one interface, chosen by URL.

``cift.connect()`` opens the embedded lake under CIFT_HOME; ``cift.connect("lake:///path")``
or a plain directory path opens a lake elsewhere. Adapters register a URL scheme with
:func:`register_store` (or the ``cift.stores`` entry-point group), so a user can add a store
without editing cift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from cift.config import load_settings
from cift.errors import StoreError
from cift.store.aio import AsyncStore, SyncStore, ThreadedAsyncStore, run_sync
from cift.store.base import Store, TimeRange, Trade, WriteResult
from cift.store.lake import Lake

__all__ = ["AsyncStore", "Lake", "Store", "TimeRange", "Trade", "WriteResult", "connect",
           "connect_async", "register_store"]

StoreFactory = Callable[[str], Store]
AsyncStoreFactory = Callable[[str], Awaitable[AsyncStore]]
_REGISTRY: dict[str, StoreFactory] = {}
_ASYNC_REGISTRY: dict[str, AsyncStoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory,
                   async_factory: AsyncStoreFactory | None = None) -> None:
    """Make ``connect("<scheme>://...")`` call ``factory(url)``.

    ``async_factory(url)`` (a coroutine function) serves :func:`connect_async`; without
    one, the async store runs the sync store's calls in worker threads.
    """
    _REGISTRY[scheme.lower()] = factory
    if async_factory is not None:
        _ASYNC_REGISTRY[scheme.lower()] = async_factory


def _open_lake(url: str) -> Lake:
    parts = urlsplit(url)
    path = (parts.netloc + parts.path) if parts.scheme else url
    if not path:
        raise StoreError(f"{url!r}: a lake URL needs a directory, e.g. lake:///data/cift")
    return Lake(Path(path))


def _open_postgres(url: str) -> Store:
    from cift.store.postgres import AsyncPostgres

    return SyncStore(run_sync(AsyncPostgres.open(url)))


async def _open_postgres_async(url: str) -> AsyncStore:
    from cift.store.postgres import AsyncPostgres

    return await AsyncPostgres.open(url)


def _open_questdb(url: str) -> Store:
    from cift.store.questdb import AsyncQuestDB

    return SyncStore(run_sync(AsyncQuestDB.open(url)))


async def _open_questdb_async(url: str) -> AsyncStore:
    from cift.store.questdb import AsyncQuestDB

    return await AsyncQuestDB.open(url)


register_store("lake", _open_lake)
register_store("file", _open_lake)
# (SQLAlchemy's spellings too: a team's URLs often name a driver; asyncpg is cift's anyway)
for _scheme in ("postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg",
                "postgresql+psycopg2"):
    register_store(_scheme, _open_postgres, _open_postgres_async)
register_store("questdb", _open_questdb, _open_questdb_async)


def _factory(scheme: str) -> StoreFactory:
    if scheme not in _REGISTRY:
        for ep in entry_points(group="cift.stores"):
            if ep.name == scheme:
                register_store(scheme, ep.load())
    if scheme not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise StoreError(f"no store for URL scheme '{scheme}://' (known: {known})")
    return _REGISTRY[scheme]


def connect(url: str | None = None, *, cache: str | bool | None = None) -> Store:
    """Open a store.

    Parameters
    ----------
    url : str, optional
        ``lake:///path`` (or a plain path) for an embedded lake, ``postgresql://...`` for
        PostgreSQL, other schemes as registered. None: CIFT_STORE if set, else the embedded
        lake under CIFT_HOME.
    cache : str or bool, optional
        A ``redis://`` URL of the hot cache: writes go through to it and ``latest()`` reads
        from it. None: CIFT_REDIS_URL if set; False: no cache.

    Examples
    --------
    >>> store = cift.connect()                      # doctest: +SKIP
    >>> store.ticks("AAPL", "2024-01-02", "2024-01-03")  # doctest: +SKIP
    """
    url, scheme, cache_url = _resolve(url, cache)
    store = _open_lake(url) if scheme is None else _factory(scheme)(url)
    if cache_url is None:
        return store
    aio = store.aio if isinstance(store, SyncStore) else ThreadedAsyncStore(store)
    return SyncStore(run_sync(_with_cache(aio, cache_url)))


async def connect_async(url: str | None = None, *,
                        cache: str | bool | None = None) -> AsyncStore:
    """Open a store whose methods are coroutines (for the live runner and async code).

    Same URLs, cache and methods as :func:`connect`. Server stores talk asyncpg on the
    caller's event loop; the embedded lake runs its blocking calls in worker threads.

    Examples
    --------
    >>> store = await cift.connect_async("postgresql://me@db/research")  # doctest: +SKIP
    >>> await store.latest(["AAPL", "MSFT"])                            # doctest: +SKIP
    """
    url, scheme, cache_url = _resolve(url, cache)
    if scheme is None:
        store: AsyncStore = ThreadedAsyncStore(_open_lake(url))
    else:
        factory = _factory(scheme)
        if scheme in _ASYNC_REGISTRY:
            store = await _ASYNC_REGISTRY[scheme](url)
        else:
            sync = factory(url)
            store = sync.aio if isinstance(sync, SyncStore) else ThreadedAsyncStore(sync)
    return store if cache_url is None else await _with_cache(store, cache_url)


async def _with_cache(store: AsyncStore, cache_url: str) -> AsyncStore:
    from cift.store.cache import AsyncCachedStore, AsyncRedisCache

    return AsyncCachedStore(store, await AsyncRedisCache.open(cache_url))


def _resolve(url: str | None, cache: str | bool | None
             ) -> tuple[str, str | None, str | None]:
    """(URL, scheme, cache URL); (lake path, None, ...) for the embedded lake. Settings are
    read once, and only when ``url`` or ``cache`` is left to them; the cache argument is
    checked before anything is opened."""
    settings = load_settings() if url is None or cache is None else None
    if cache is None:
        cache_url = settings.redis
    elif cache is False:
        cache_url = None
    elif isinstance(cache, str) and cache.startswith(("redis://", "rediss://", "unix://")):
        cache_url = cache
        _split(cache, "cache URL")
    else:
        raise StoreError(f"cache: expected a redis:// URL or False, got {cache!r}")
    if url is None:
        if settings.store is None:
            return str(settings.lake_dir), None, cache_url
        url = settings.store
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"store URL must be a non-empty string, got {url!r}")
    scheme = _split(url, "store URL").scheme.lower()
    if not scheme or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        return url, None, cache_url
    return url, scheme, cache_url


def _split(url: str, what: str) -> SplitResult:
    """``url``'s parts, its host and port read: an unclosed IPv6 "[", a port that is not a
    number, are a clear error here, not a ValueError from deep in a driver."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it is the check)
    except ValueError as exc:  # (the message names the port or the address, not a password)
        raise StoreError(f"{what}: {exc}") from None
    return parts
