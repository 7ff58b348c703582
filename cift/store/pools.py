"""asyncpg pools as cift's server stores use them (PostgreSQL, and QuestDB over the PG wire):
a statement retried once after a lost connection, clear errors, and a pool given back when
its store is dropped unclosed; and how every server store names its server in messages."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from urllib.parse import urlsplit, urlunsplit

from cift.errors import StoreError

__all__ = ["close_when_dropped", "describe", "lost_connection_errors", "redact", "server_address",
           "with_pooled"]


async def with_pooled(pool, op, server: str):
    """Run ``op(conn)`` on a connection of an asyncpg ``pool``; after a lost connection (a
    server restart), expire the pool's connections and retry once on a fresh one. Server
    errors become :class:`StoreError` starting with ``server`` ("PostgreSQL at host:port")."""
    import asyncpg

    if pool.is_closing():
        raise StoreError(f"{server}: the store is closed")
    lost = lost_connection_errors()
    for attempt in range(2):
        try:
            async with pool.acquire() as conn:
                return await op(conn)
        except lost as exc:
            if attempt:
                raise StoreError(f"lost the connection to {server}: {describe(exc)}") from None
            await pool.expire_connections()
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{server}: {describe(exc)}") from None
    raise AssertionError("unreachable")


def close_when_dropped(store: object, pool) -> None:
    """Terminate the connections of an asyncpg ``pool`` once ``store`` is garbage without
    having been closed: the event loop holds their sockets, so a notebook cell that connects
    each time it is re-run kept a server connection per run until the server refused more.
    The termination runs on the pool's loop at its next turn (a sync store's: its next call)."""
    weakref.finalize(store, _terminate, asyncio.get_running_loop(), pool).atexit = False


def _terminate(loop: asyncio.AbstractEventLoop, pool) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: so are its connections
        loop.call_soon_threadsafe(pool.terminate)


def lost_connection_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean the connection is gone (retry on a fresh one)."""
    import asyncpg

    return (asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
            asyncpg.AdminShutdownError, asyncpg.CannotConnectNowError, OSError)


def describe(exc: BaseException) -> str:
    """An exception as one line (asyncpg messages never carry the password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def redact(url: str) -> str:
    """The URL without its password (for messages and ``store.url``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def server_address(url: str, default_port: int) -> str:
    """"host:port" of a server URL, for messages (never the user or password)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or default_port}"
