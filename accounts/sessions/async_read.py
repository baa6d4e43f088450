"""Reading a session from asyncio: the dict, its records and the shared prefetches in ONE ``MGET``,
exactly as ``accounts.sessions.store`` writes them.

The keys and the value encoding are the configured cache's own (django-redis's ``make_key`` and
``decode``, which do no I/O); only the round trip goes through ``redis.asyncio``, with one
client per loop built from the same ``CACHES`` entry (a URL, Redis Sentinel naming the primary,
or a Redis Cluster, as ``config/redis_caches.py`` sets it up). On a cluster the shared values
are this process's copies (``shared_copies``), as in the sync store. Nothing here writes but the
move of a session written before 0.2 (``legacy_keys``): the async edge reads, and hands anything
that must write (activity, renewal, ending a session) to the sync code.
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

from accounts.cluster.client import async_cluster, is_cluster
from accounts.conf import accounts_settings
from accounts.exceptions import SessionStoreUnavailable
from accounts.sessions import legacy_keys, shared_copies
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
    try:
        return await _aload_snapshot(valid_session_key(cookie_value))
    except (TimeoutError, RedisError, OSError) as exc:
        raise SessionStoreUnavailable(
            "The session store is not answering. Please try again in a moment."
        ) from exc


async def _aload_snapshot(session_key: str | None, *, moved: bool = False) -> SessionSnapshot:
    store = SessionStore(session_key)
    prefetches = registry.prefetches()
    names = registry.record_names()
    client = _cache_client()
    on_cluster = is_cluster(caches[accounts_settings.SESSION_CACHE_ALIAS])
    # On a cluster the shared values live in other slots: this process's copies stand in.
    plain = [] if on_cluster else [pf.cache_key for pf in prefetches.values()]
    if session_key is not None:
        plain = [store.cache_key, *(store.record_key(n) for n in names), *plain]
    values = await async_redis().mget([str(client.make_key(k)) for k in plain]) if plain else []
    found = {key: client.decode(v) for key, v in zip(plain, values, strict=True) if v is not None}
    if on_cluster:
        prefetched = await _ashared_copies(client)
    else:
        prefetched = {name: pf.parse(found.get(pf.cache_key)) for name, pf in prefetches.items()}
    if session_key is None:
        return SessionSnapshot(None, None, prefetched=prefetched)
    if found.get(store.cache_key) is None:
        if not on_cluster and not moved and await _amove_legacy(client, session_key, names):
            return await _aload_snapshot(session_key, moved=True)  # written before 0.2
        return SessionSnapshot(None, None, prefetched=prefetched)
    return SessionSnapshot(
        session_key,
        found[store.cache_key],
        records={n: found.get(store.record_key(n)) for n in names},
        prefetched=prefetched,
    )


async def _ashared_copies(client: Any) -> dict[str, Any]:
    prefetches = registry.prefetches()
    for name in shared_copies.due(prefetches):
        prefetch = prefetches[name]
        raw = await async_redis().get(str(client.make_key(prefetch.cache_key)))
        shared_copies.keep(name, prefetch.parse(None if raw is None else client.decode(raw)))
    return shared_copies.held(prefetches)


async def _amove_legacy(client: Any, session_key: str, names: tuple[str, ...]) -> bool:
    made = legacy_keys.script_keys(session_key, names, client.make_key)
    return bool(await async_redis().eval(legacy_keys.MOVE_SCRIPT, len(made), *made))


def _cache_client() -> Any:
    return caches[accounts_settings.SESSION_CACHE_ALIAS].client  # type: ignore[attr-defined]


# One client per event loop: redis.asyncio connections belong to the loop that made them.
_clients: dict[int, Any] = {}


def async_redis() -> Any:
    """This loop's client for the session cache's Redis (``redis.asyncio``'s ``Redis``, or its
    ``RedisCluster``: the same commands)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(id(loop))
    if client is None:
        client = _clients[id(loop)] = _make_client()
    return client


async def aclose_redis() -> None:
    client = _clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()


def _make_client() -> Any:
    config: dict[str, Any] = settings.CACHES[accounts_settings.SESSION_CACHE_ALIAS]
    options: dict[str, Any] = config.get("OPTIONS", {})
    configured = config["LOCATION"]
    if is_cluster(caches[accounts_settings.SESSION_CACHE_ALIAS]):
        return async_cluster(_locations(configured), options)
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


def _locations(configured: Any) -> list[str]:
    if isinstance(configured, str):
        return [part.strip() for part in configured.split(",") if part.strip()]
    return [str(location) for location in configured]
