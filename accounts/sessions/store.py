"""Redis-backed sessions with records kept *beside* the session dict.

Django's cache backend stores the whole session dict as one value, and ``save()`` rewrites all of
it: the last writer wins. If the tokens lived inside that dict, a slow request that loaded the
session before a refresh and saved it after would put the old, already-rotated refresh token back,
and the provider would revoke the grant on its next use. So the token record (and any other record
that must not be clobbered) lives under its own key, ``<session key>:<record name>``, written only
by the code that owns it. Loading the session fetches the dict and these records in one round
trip, so keeping them apart costs nothing per request. Their names are ``accounts.sessions.keys``':
one hash tag for all of a session's keys, so that round trip stays one ``MGET`` on a Redis Cluster.

The lifecycle is still ``SessionBase``'s: ``delete`` and ``cycle_key`` (called by ``auth.logout``
and ``auth.login``) carry the records along, and a Redis failure is an error, never an empty
session: the stock cache backend swallows every exception in ``load()``, which would silently log
a user out when Redis blips.

The store is a storage engine only. Which records it carries, which shared values it fetches with
the session, what sets the cookie's age and what else goes when a session is deleted are
registered by their owners in ``accounts.sessions.records``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from django.core.cache.backends.base import BaseCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError, ResponseError

from accounts.cluster.client import connection_for_key, is_cluster
from accounts.exceptions import SessionStoreUnavailable
from accounts.sessions import keys, legacy_keys, shared_copies
from accounts.sessions import records as registry

logger = logging.getLogger(__name__)


@contextmanager
def _redis_errors_as_unavailable() -> Iterator[None]:
    try:
        yield
    except (RedisError, ConnectionInterrupted, ConnectionError) as exc:
        raise SessionStoreUnavailable(
            "The session store is not answering. Please try again in a moment."
        ) from exc


# For the other values kept in the session cache, apart from any session (logins in progress).
redis_errors_as_unavailable = _redis_errors_as_unavailable


class SessionStore(CacheSessionStore):
    _cache: BaseCache

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._records: dict[str, Any] = {}
        self._prefetched: dict[str, Any] = {}
        # Decoded forms of records, by name, kept with the raw value they came from; owned by
        # the modules that own the records (the token record's, which decrypts once a request).
        self.decoded: dict[str, tuple[Any, Any]] = {}

    @property
    def cache_key(self) -> str:
        return keys.session_cache_key(self._get_or_create_session_key())  # type: ignore[attr-defined]

    # --- records beside the session ------------------------------------------------------
    def record_key(self, name: str, session_key: str | None = None) -> str:
        return keys.record_cache_key(session_key or self.session_key or "", name)

    def read_record(self, name: str, *, fresh: bool = False) -> Any:
        """The record ``name`` of this session, or None.

        By default the copy fetched with the session is returned; ``fresh=True`` reads Redis
        again (under a lock, to see what another process wrote since this request began).
        """
        if not fresh:
            self.keys()  # loads the session and its records, once per request
            if name in self._records:
                return self._records[name]
        if self.session_key is None:
            return None
        with _redis_errors_as_unavailable():
            value = self._cache.get(self.record_key(name))
        self._records[name] = value
        return value

    def write_record(self, name: str, value: Any, *, replicate: bool = False) -> None:
        """Store record ``name`` for as long as the session lives. Creates the session if needed.

        ``replicate=True`` then waits for ``REDIS_WAIT_REPLICAS`` replicas to hold it (Redis
        ``WAIT``), for records whose loss in a failover would cost the user their login.
        """
        if self.session_key is None:
            self.create()
        # Kept first: a cookie-age rule may follow this record (the activity record sets the
        # remaining lifetime), and the TTL below is that age.
        self._records[name] = value
        replicas = int(getattr(settings, "REDIS_WAIT_REPLICAS", 0))
        with _redis_errors_as_unavailable():
            if replicate and replicas > 0:
                self._write_replicated(name, value, replicas)
            else:
                self._cache.set(self.record_key(name), value, self.get_expiry_age())

    def _write_replicated(self, name: str, value: Any, replicas: int) -> None:
        # SET and WAIT on one connection (to the node holding the key, on a cluster): WAIT
        # counts the replicas that have this connection's writes.
        client = self._cache.client  # type: ignore[attr-defined]
        key = str(client.make_key(self.record_key(name)))
        node = connection_for_key(client.get_client(write=True), key)
        pipe = node.pipeline(transaction=False)
        pipe.set(key, client.encode(value), ex=self.get_expiry_age())
        pipe.wait(replicas, int(getattr(settings, "REDIS_WAIT_TIMEOUT_MS", 100)))
        try:
            acknowledged = pipe.execute()[1]
        except ResponseError:
            # The slot moved to another node since the client last looked (MOVED): write it
            # there; only the replicas' confirmation is lost.
            self._cache.set(self.record_key(name), value, self.get_expiry_age())
            acknowledged = 0
        if acknowledged < replicas:
            # Not an error: the write is on the primary. It is only less safe from a failover.
            logger.warning("token record reached %s of %s replicas in time", acknowledged, replicas)

    def records(self) -> dict[str, Any]:
        """Every registered record of this session, as fetched with it."""
        return {name: self.read_record(name) for name in registry.record_names()}

    def prefetched(self, name: str) -> Any:
        """The shared value registered as ``name``, as fetched with the session; from its source
        when Redis held no usable copy (or nothing was fetched: no session loaded)."""
        if self._prefetched.get(name) is None:
            with _redis_errors_as_unavailable():
                self._prefetched[name] = registry.prefetches()[name].load()
            shared_copies.keep(name, self._prefetched[name])
        return self._prefetched[name]

    def policy(self) -> Any:
        """The session policy (``accounts.sessions.lifetimes`` registers it as "policy")."""
        return self.prefetched("policy")

    # --- SessionBase hooks ---------------------------------------------------------------
    def load(self, *, moved: bool = False) -> dict[str, Any]:
        session_key = self.cache_key
        record_keys = {name: self.record_key(name) for name in registry.record_names()}
        prefetches = registry.prefetches()
        on_cluster = is_cluster(self._cache)
        # On a cluster the shared values live in other slots: this process's copies stand in.
        with_prefetches = [] if on_cluster else [p.cache_key for p in prefetches.values()]
        with _redis_errors_as_unavailable():
            found = self._cache.get_many([session_key, *record_keys.values(), *with_prefetches])
            if on_cluster:
                self._prefetched = self._shared_copies()
            else:
                self._prefetched = {
                    name: prefetch.parse(found.get(prefetch.cache_key))
                    for name, prefetch in prefetches.items()
                }
            data = found.get(session_key)
            if data is None and self._session_key and not moved and not on_cluster:
                client = self._cache.client  # type: ignore[attr-defined]
                if legacy_keys.move_session(client, self._session_key, record_keys):
                    return self.load(moved=True)  # written before 0.2, under the old names
        if data is None:
            # Unknown or expired key: start afresh, as the stock backend does, with what the
            # hooks know of the key (why it ended). Only here do they cost a round trip.
            missing, self._session_key = self._session_key, None
            self._records = {}
            fresh: dict[str, Any] = {}
            if missing:
                with _redis_errors_as_unavailable():
                    for hook in registry.missing_hooks():
                        fresh.update(hook(missing))
            return fresh
        self._records = {name: found.get(key) for name, key in record_keys.items()}
        return data  # type: ignore[no-any-return]

    def _shared_copies(self) -> dict[str, Any]:
        prefetches = registry.prefetches()
        for name in shared_copies.due(prefetches):
            prefetch = prefetches[name]
            shared_copies.keep(name, prefetch.parse(self._cache.get(prefetch.cache_key)))
        return shared_copies.held(prefetches)

    def save(self, must_create: bool = False) -> None:
        with _redis_errors_as_unavailable():
            super().save(must_create=must_create)
            if not must_create:
                # The records live exactly as long as the session they belong to.
                age = self.get_expiry_age()
                for name, value in self._records.items():
                    if value is not None:
                        self._cache.touch(self.record_key(name), age)

    def exists(self, session_key: str) -> bool:
        with _redis_errors_as_unavailable():
            return bool(session_key) and keys.session_cache_key(session_key) in self._cache

    def get_session_cookie_age(self) -> int:
        # The cookie's max-age, and with it the Redis TTLs, is what the first registered rule
        # says (after login, the remaining lifetime: accounts.sessions.activity); before that
        # (a login in progress) SESSION_COOKIE_AGE.
        held = self._records if self.session_key else {}
        for rule in registry.cookie_age_rules():
            age = rule(self, held)
            if age is not None:
                return age
        return super().get_session_cookie_age()

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is None:
            return
        names = registry.record_names()
        hooks = registry.delete_hooks()
        with _redis_errors_as_unavailable():
            # The hooks get the records as they were: this store's copy for its own session,
            # else (the old key in cycle_key, delete(key) on another store) what Redis holds.
            if key == self.session_key:
                held = dict(self._records)
            elif hooks:
                found = self._cache.get_many([self.record_key(n, key) for n in names])
                held = {n: found.get(self.record_key(n, key)) for n in names}
            else:
                held = {}
            # One slot (one hash tag), so one DEL on a cluster too.
            self._cache.delete_many(
                [keys.session_cache_key(key), *(self.record_key(n, key) for n in names)]
            )
            for hook in hooks:
                hook(key, held)
        if key == self.session_key:
            self._records = {}

    def cycle_key(self) -> None:
        # auth.login() cycles the key to defeat session fixation; the records move with it.
        records = self.records()
        super().cycle_key()
        for name, value in records.items():
            if value is not None:
                self.write_record(name, value)

    # The async twins run the sync code in a thread: django-redis has no native async client,
    # so this is what the stock backend's async methods cost too.
    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()
