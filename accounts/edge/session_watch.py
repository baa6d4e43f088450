"""Knowing, on the event loop, that a session ended: what closes a proxied WebSocket or event
stream within seconds of a logout, a revocation in the admin, a back-channel logout or the end
of the session's lifetime.

One subscriber task per event loop (started by the first ``watch_session_end``, or by the ASGI
lifespan) listens on ``accounts.sessions.end_notices``' channel and sets the ``asyncio.Event`` of
every watcher of the session named. It also *sweeps* every ``SWEEP_SECONDS``, and after each
(re)subscription: the sessions it watches must still exist in Redis. That catches a session
whose lifetime ran out (its Redis TTL is its deadline) and one ended while the subscription was
down. So a watched session is seen to end within ``SWEEP_SECONDS`` at worst, at once usually.

On a Redis Cluster a ``PUBLISH`` on any node reaches the subscribers of every node, replicas
included (the cluster bus carries it), so the subscriber listens on one node and moves on to the
next when that one stops answering: a failover costs it a resubscription, and the sweep after it
catches what was published in between.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from django.core.cache import caches
from redis.exceptions import RedisClusterException, RedisError

from accounts.cluster.client import is_cluster
from accounts.conf import accounts_settings
from accounts.sessions.async_read import async_redis, valid_session_key
from accounts.sessions.end_notices import channel, notice_id
from accounts.sessions.store import SessionStore

logger = logging.getLogger(__name__)

# The worst case for an end that no notice told of; the sweep is one pipelined EXISTS per
# watched session, every few seconds, per worker.
SWEEP_SECONDS = 2.0
# How long to wait before subscribing again when Redis did not answer.
RETRY_SECONDS = 1.0


class SessionEndWatch:
    """This loop's subscriber, and who waits for which session."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[str, set[asyncio.Event]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        # Subscriptions that failed so far: on a cluster, which node to listen on next.
        self._failures = 0

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def add(self, session_key: str, ended: asyncio.Event) -> None:
        nid = notice_id(session_key)
        self._waiting.setdefault(nid, (session_key, set()))[1].add(ended)

    def discard(self, session_key: str, ended: asyncio.Event) -> None:
        nid = notice_id(session_key)
        found = self._waiting.get(nid)
        if found is not None:
            found[1].discard(ended)
            if not found[1]:
                del self._waiting[nid]

    def ended(self, nid: str) -> None:
        found = self._waiting.pop(nid, None)
        for event in found[1] if found else ():
            event.set()

    async def _run(self) -> None:
        while True:
            pubsub = None
            try:
                pubsub = await self._pubsub()
                await pubsub.subscribe(channel())
                self.subscribed.set()
                await self._sweep()
                swept = time.monotonic()
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=SWEEP_SECONDS
                    )
                    if message is not None and message.get("type") == "message":
                        data = message["data"]
                        self.ended(data.decode() if isinstance(data, bytes) else str(data))
                    if time.monotonic() - swept >= SWEEP_SECONDS:
                        await self._sweep()
                        swept = time.monotonic()
            except (RedisError, RedisClusterException, OSError, TimeoutError):
                self.subscribed.clear()
                self._failures += 1
                logger.warning("listening for ended sessions failed; trying again")
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                if pubsub is not None:
                    with suppress(RedisError, RedisClusterException, OSError, TimeoutError):
                        await pubsub.aclose()

    async def _pubsub(self) -> Any:
        client = async_redis()
        if not is_cluster(caches[accounts_settings.SESSION_CACHE_ALIAS]):
            return client.pubsub()
        await client.initialize()
        nodes = client.get_nodes()
        return client.pubsub(node=nodes[self._failures % len(nodes)])

    async def _sweep(self) -> None:
        if not self._waiting:
            return
        client = caches[accounts_settings.SESSION_CACHE_ALIAS].client  # type: ignore[attr-defined]
        watched = list(self._waiting.items())
        async with async_redis().pipeline(transaction=False) as pipe:
            for _, (session_key, _events) in watched:
                pipe.exists(str(client.make_key(SessionStore(session_key).cache_key)))
            found = await pipe.execute()
        for (nid, _), exists in zip(watched, found, strict=True):
            if not exists:
                self.ended(nid)


# One watch per event loop, as redis.asyncio clients belong to the loop that made them.
_watches: dict[int, SessionEndWatch] = {}


def session_end_watch() -> SessionEndWatch:
    loop = asyncio.get_running_loop()
    watch = _watches.get(id(loop))
    if watch is None:
        watch = _watches[id(loop)] = SessionEndWatch()
    watch.start()
    return watch


@asynccontextmanager
async def watch_session_end(session_cookie: str | None) -> AsyncIterator[asyncio.Event]:
    """An event set when the session named by ``session_cookie`` ends (never, for no session).

    Enter it *before* reading the session: an end between the read and the watch would
    otherwise go unseen until the sweep."""
    ended = asyncio.Event()
    session_key = valid_session_key(session_cookie)
    if session_key is None:
        yield ended
        return
    watch = session_end_watch()
    watch.add(session_key, ended)
    try:
        yield ended
    finally:
        watch.discard(session_key, ended)


async def astop_session_watch() -> None:
    """Stop this loop's subscriber (the ASGI lifespan's shutdown)."""
    watch = _watches.pop(id(asyncio.get_running_loop()), None)
    if watch is not None:
        await watch.stop()
