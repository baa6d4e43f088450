"""One renewal per session at a time, across threads, processes and hosts.

Threads of one process queue on a per-session lock, so they cause no Redis traffic; processes and
hosts then queue on a per-session Redis lock. Both give up after as long as a provider call can
take, with ``TokenUnavailable``: the request fails, the session stays.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

from accounts.conf import accounts_settings
from accounts.exceptions import SessionStoreUnavailable, TokenUnavailable
from accounts.metrics import LOCK_TIMEOUTS, LOCK_WAITS
from accounts.sessions.keys import refresh_lock_key

logger = logging.getLogger(__name__)

# Extra seconds the Redis lock outlives the provider call: time to write the new record.
_LOCK_MARGIN = 5.0


@contextmanager
def single_flight(session_key: str) -> Iterator[None]:
    """Hold the renewal of ``session_key``'s tokens for the duration of the ``with`` block."""
    with _process_lock(session_key), _redis_lock(session_key):
        yield


# Weak values: a session's lock goes away with the last request that held or awaited it.
_process_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
_process_locks_guard = threading.Lock()


@contextmanager
def _process_lock(session_key: str) -> Iterator[None]:
    with _process_locks_guard:
        lock = _process_locks.get(session_key)
        if lock is None:
            lock = threading.Lock()
            _process_locks[session_key] = lock
    if not lock.acquire(blocking=False):
        LOCK_WAITS.inc()
        if not lock.acquire(timeout=_lock_wait()):
            LOCK_TIMEOUTS.inc()
            raise TokenUnavailable("Your login is being renewed; please try again in a moment.")
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _redis_lock(session_key: str) -> Iterator[None]:
    connection = get_redis_connection(accounts_settings.SESSION_CACHE_ALIAS)
    # The TTL outlives the provider call (connect + read timeout + margin): a lock that expires
    # while the provider is still answering lets a second caller in with the refresh token the
    # first just consumed, which is the mistake oauth2-proxy made.
    lock = connection.lock(
        refresh_lock_key(session_key),
        timeout=_lock_wait(),
        blocking_timeout=_lock_wait(),
        sleep=0.02,
    )
    try:
        acquired = lock.acquire(blocking=False)
        if not acquired:
            LOCK_WAITS.inc()
            acquired = lock.acquire()
    except RedisError as exc:
        raise SessionStoreUnavailable("The session store is not answering.") from exc
    if not acquired:
        LOCK_TIMEOUTS.inc()
        raise TokenUnavailable("Your login is being renewed; please try again in a moment.")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            # The TTL ran out first: the provider call took longer than its own timeout allows.
            logger.warning("refresh lock expired before release")
        except RedisError:
            logger.warning("refresh lock could not be released; it expires by itself")


def _lock_wait() -> float:
    # The holder may send the refresh twice (a retry within the provider's reuse interval).
    connect, read = accounts_settings.OIDC_REFRESH_TIMEOUT
    attempts = 2 if accounts_settings.OIDC_REFRESH_REUSE_INTERVAL > 0 else 1
    return attempts * (connect + read) + _LOCK_MARGIN
