"""Reading a session from asyncio: the dict, its records and the shared prefetches in ONE ``MGET``,
exactly as ``accounts.sessions.store`` writes them.

The keys and the value encoding are the configured cache's own (django-redis's ``make_key`` and
``decode``, which do no I/O); only the round trip goes through ``redis.asyncio``, with one
client per process built from the same ``CACHES`` entry (a URL, or Redis Sentinel naming the
primary, as ``config/settings.py`` sets it up). Nothing here writes: the async edge reads, and
hands anything that must write (activity, renewal, ending a session) to the sync code.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from django.conf import settings
from django.core.cache import caches
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from accounts.conf import accounts_settings
from accounts.exceptions import SessionStoreUnavailable
from accounts.sessions import records as registry
from accounts.sessions.store import SessionStore


@dataclass(frozen=True)
class SessionSnapshot:
    """One session as one ``MGET`` found it; ``data`` is None when there is no such session."""

    session_key: str | None
    data: dict[str, Any] | None
    records: dict[str, Any] = field(default_factory=dict)
    prefetched: dict[str, Any] = field(default_factory=dict)


def valid_session_key(value: str | None) -> str | None:
    # Django's rule (SessionBase._validate_session_key): anything shorter is no session.
    return value if value and len(value) >= 8 else None


async def aload_snapshot(cookie_value: str | None) -> SessionSnapshot:
    """The session named by ``cookie_value`` with its records and prefetches, in one round trip.

    Raises ``SessionStoreUnavailable`` when Redis does not answer (never an empty session: that
    would log the user out on a blip, as the sync store also refuses to)."""
    session_key = valid_session_key(cookie_value)
    store = SessionStore(session_key)
    prefetches = registry.prefetches()
    names = registry.record_names()
    plain = [pf.cache_key for pf in prefetches.values()]
    if session_key is not None:
        plain = [store.cache_key, *(store.record_key(n) for n in names), *plain]
    client = _cache_client()
    try:
        values = await async_redis().mget([str(client.make_key(k)) for k in plain])
    except (TimeoutError, RedisError, OSError) as exc:
        raise SessionStoreUnavailable(
            "The session store is not answering. Please try again in a moment."
        ) from exc
    found = {key: client.decode(v) for key, v in zip(plain, values, strict=True) if v is not None}
    prefetched = {name: pf.parse(found.get(pf.cache_key)) for name, pf in prefetches.items()}
    if session_key is None or found.get(store.cache_key) is None:
        return SessionSnapshot(None, None, prefetched=prefetched)
    return SessionSnapshot(
        session_key,
        found[store.cache_key],
        records={n: found.get(store.record_key(n)) for n in names},
        prefetched=prefetched,
    )


def _cache_client() -> Any:
    return caches[accounts_settings.SESSION_CACHE_ALIAS].client  # type: ignore[attr-defined]


# One client per event loop: redis.asyncio connections belong to the loop that made them.
_clients: dict[int, aioredis.Redis] = {}


def async_redis() -> aioredis.Redis:
    """This loop's client for the session cache's Redis."""
    loop = asyncio.get_running_loop()
    client = _clients.get(id(loop))
    if client is None:
        client = _clients[id(loop)] = _make_client()
    return client


async def aclose_redis() -> None:
    client = _clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()


def _make_client() -> aioredis.Redis:
    config: dict[str, Any] = settings.CACHES[accounts_settings.SESSION_CACHE_ALIAS]
    options: dict[str, Any] = config.get("OPTIONS", {})
    configured = config["LOCATION"]
    location = str(configured[0] if isinstance(configured, list | tuple) else configured)
    kwargs: dict[str, Any] = {
        "socket_timeout": options.get("SOCKET_TIMEOUT"),
        "socket_connect_timeout": options.get("SOCKET_CONNECT_TIMEOUT"),
    }
    if options.get("PASSWORD"):
        kwargs["password"] = options["PASSWORD"]
    if options.get("SENTINELS"):
        parts = urlsplit(location)
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            options["SENTINELS"], sentinel_kwargs=options.get("SENTINEL_KWARGS"), **kwargs
        )
        db = int((parts.path or "/0").lstrip("/") or 0)
        master: aioredis.Redis = sentinel.master_for(parts.hostname or "mymaster", db=db)
        return master
    # Thousands of open streams share a few connections: a request holds one only for its MGET,
    # and waits for one (up to the socket timeout) rather than opening more.
    pool = aioredis.BlockingConnectionPool.from_url(
        location, max_connections=64, timeout=kwargs["socket_timeout"] or 2, **kwargs
    )
    return aioredis.Redis(connection_pool=pool)
