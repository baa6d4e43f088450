"""Redis-backed sessions with records kept *beside* the session dict.

Django's cache backend stores the whole session dict as one value, and ``save()`` rewrites all of
it: the last writer wins. If the tokens lived inside that dict, a slow request that loaded the
session before a refresh and saved it after would put the old, already-rotated refresh token back,
and the provider would revoke the grant on its next use. So the token record (and any other record
that must not be clobbered) lives under its own key, ``<session key>:<record name>``, written only
by the code that owns it. Loading the session fetches the dict and these records in one round
trip, so keeping them apart costs nothing per request.

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
from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from accounts.exceptions import SessionStoreUnavailable
from accounts.sessions import records as registry

logger = logging.getLogger(__name__)


@contextmanager
def redis_errors_as_unavailable() -> Iterator[None]:
    """A Redis failure as a 503 page, never a 500 nor an empty answer; for the store and for
    the other values kept in the session cache (logins in progress)."""
    try:
        yield
    except (RedisError, ConnectionInterrupted, ConnectionError) as exc:
        raise SessionStoreUnavailable(
            "The session store is not answering. Please try again in a moment."
        ) from exc


def _wait_for_replicas() -> None:
    wanted = int(getattr(settings, "REDIS_WAIT_REPLICAS", 0))
    if wanted <= 0:
        return
    timeout_ms = int(getattr(settings, "REDIS_WAIT_TIMEOUT_MS", 100))
    connection = get_redis_connection(getattr(settings, "SESSION_CACHE_ALIAS", "default"))
    acknowledged = connection.wait(wanted, timeout_ms)
    if acknowledged < wanted:
        # Not an error: the write is on the primary. It is only less safe from a failover.
        logger.warning("token record reached %s of %s replicas in time", acknowledged, wanted)


class SessionStore(CacheSessionStore):
    _cache: BaseCache

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._records: dict[str, Any] = {}
        self._prefetched: dict[str, Any] = {}
        # Decoded forms of records, by name, kept with the raw value they came from; owned by
        # the modules that own the records (the token record's, which decrypts once a request).
        self.decoded: dict[str, tuple[Any, Any]] = {}

    # --- records beside the session ------------------------------------------------------
    def record_key(self, name: str, session_key: str | None = None) -> str:
        return f"{self.cache_key_prefix}{session_key or self.session_key}:{name}"

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
        with redis_errors_as_unavailable():
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
        with redis_errors_as_unavailable():
            self._cache.set(self.record_key(name), value, self.get_expiry_age())
            if replicate:
                _wait_for_replicas()

    def records(self) -> dict[str, Any]:
        """Every registered record of this session, as fetched with it."""
        return {name: self.read_record(name) for name in registry.record_names()}

    def prefetched(self, name: str) -> Any:
        """The shared value registered as ``name``, as fetched with the session; from its source
        when Redis held no usable copy (or nothing was fetched: no session loaded)."""
        if self._prefetched.get(name) is None:
            with redis_errors_as_unavailable():
                self._prefetched[name] = registry.prefetches()[name].load()
        return self._prefetched[name]

    def policy(self) -> Any:
        """The session policy (``accounts.sessions.lifetimes`` registers it as "policy")."""
        return self.prefetched("policy")

    # --- SessionBase hooks ---------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        session_key = self.cache_key
        record_keys = {name: self.record_key(name) for name in registry.record_names()}
        prefetches = registry.prefetches()
        with redis_errors_as_unavailable():
            found = self._cache.get_many(
                [session_key, *record_keys.values(), *(p.cache_key for p in prefetches.values())]
            )
        self._prefetched = {
            name: prefetch.parse(found.get(prefetch.cache_key))
            for name, prefetch in prefetches.items()
        }
        data = found.get(session_key)
        if data is None:
            # Unknown or expired key: start afresh, as the stock backend does, with what the
            # hooks know of the key (why it ended). Only here do they cost a round trip.
            missing, self._session_key = self._session_key, None
            self._records = {}
            fresh: dict[str, Any] = {}
            if missing:
                with redis_errors_as_unavailable():
                    for hook in registry.missing_hooks():
                        fresh.update(hook(missing))
            return fresh
        self._records = {name: found.get(key) for name, key in record_keys.items()}
        return data  # type: ignore[no-any-return]

    def save(self, must_create: bool = False) -> None:
        with redis_errors_as_unavailable():
            super().save(must_create=must_create)
            if not must_create:
                # The records live exactly as long as the session they belong to.
                age = self.get_expiry_age()
                for name, value in self._records.items():
                    if value is not None:
                        self._cache.touch(self.record_key(name), age)

    def exists(self, session_key: str) -> bool:
        with redis_errors_as_unavailable():
            return super().exists(session_key)

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
        with redis_errors_as_unavailable():
            # The hooks get the records as they were: this store's copy for its own session,
            # else (the old key in cycle_key, delete(key) on another store) what Redis holds.
            if key == self.session_key:
                held = dict(self._records)
            elif hooks:
                found = self._cache.get_many([self.record_key(n, key) for n in names])
                held = {n: found.get(self.record_key(n, key)) for n in names}
            else:
                held = {}
            self._cache.delete_many(
                [self.cache_key_prefix + key, *(self.record_key(n, key) for n in names)]
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
