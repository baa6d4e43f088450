"""The one place that knows the names of a session's keys in Redis.

Every key of one session carries the session key as a Redis Cluster *hash tag* (``{…}``: only the
part between the braces is hashed), so on a cluster they all live in one slot, on one node: the
dict, its records (``…:tokens``, ``…:activity``) and its refresh lock. That is what lets the
session and its records come back in one ``MGET`` and be deleted in one ``DEL`` there, as on a
single Redis. A hash tag is inert outside a cluster, so one layout serves both.

The cache keys below still go through the cache's own ``make_key`` (``<KEY_PREFIX>:<version>:``
in front), which leaves the braces inside the final key; the lock is a raw key, prefixed here.
``accounts.E035`` checks at start-up that a cache's key function keeps it that way.

Before 0.2 the keys had no braces (``…cache<key>``, ``…cache<key>:tokens``); ``legacy_keys``
moves a session written that way to these names the first time it is read.
"""

from __future__ import annotations

from django.contrib.sessions.backends.cache import KEY_PREFIX

from accounts.conf import accounts_settings


def hash_tag(session_key: str) -> str:
    return f"{{{session_key}}}"


def session_cache_key(session_key: str) -> str:
    """The session dict's cache key (before the cache's prefix and version)."""
    return f"{KEY_PREFIX}{hash_tag(session_key)}"


def record_cache_key(session_key: str, name: str) -> str:
    """The cache key of the record ``name`` kept beside the session."""
    return f"{session_cache_key(session_key)}:{name}"


def refresh_lock_key(session_key: str) -> str:
    """The Redis key of the session's refresh lock (a raw key: the lock is not a cache value)."""
    return f"{accounts_settings.REDIS_KEY_PREFIX}:refresh-lock:{hash_tag(session_key)}"


# --- before 0.2 ------------------------------------------------------------------------------


def legacy_session_cache_key(session_key: str) -> str:
    return f"{KEY_PREFIX}{session_key}"


def legacy_record_cache_key(session_key: str, name: str) -> str:
    return f"{legacy_session_cache_key(session_key)}:{name}"
