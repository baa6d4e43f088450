"""The index of live sessions in Redis: user -> session keys, provider ``sid`` -> session key.

The admin lists and revokes a user's sessions with it, and back-channel logout finds the session
a provider's ``sid`` names. Entries expire with the sessions they point to: the ``sid`` key has
the session's TTL, the user's set the longest TTL of its sessions (``EXPIRE ... GT``), and members
whose session is gone are dropped when read. Nothing here outlives what it indexes for long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django_redis import get_redis_connection
from redis import Redis

from accounts.conf import accounts_settings


def _redis() -> Redis:
    return get_redis_connection(accounts_settings.SESSION_CACHE_ALIAS)  # type: ignore[no-any-return]


def user_key(user_id: object) -> str:
    return f"{accounts_settings.REDIS_KEY_PREFIX}:user-sessions:{user_id}"


def sid_key(sid: str) -> str:
    return f"{accounts_settings.REDIS_KEY_PREFIX}:sid:{sid}"


def index_session(user_id: object, session_key: str, sid: str | None, ttl: int) -> None:
    pipe = _redis().pipeline(transaction=False)
    pipe.sadd(user_key(user_id), session_key)
    # NX gives a new set a TTL; GT only ever lengthens it (a non-volatile key counts as infinite
    # for GT, so both are needed).
    pipe.expire(user_key(user_id), ttl, nx=True)
    pipe.expire(user_key(user_id), ttl, gt=True)
    if sid:
        pipe.set(sid_key(sid), session_key, ex=ttl)
    pipe.execute()


def unindex_session(user_id: object, session_key: str, sid: str | None) -> None:
    connection = _redis()
    connection.srem(user_key(user_id), session_key)
    if sid and connection.get(sid_key(sid)) == session_key.encode():
        connection.delete(sid_key(sid))


def session_keys_of(user_id: object, exists: Callable[[str], bool]) -> list[str]:
    """The user's live session keys; ``exists(key)`` tells whether a session is still there."""
    connection = _redis()
    members = sorted(_text(m) for m in connection.smembers(user_key(user_id)))
    live = [key for key in members if exists(key)]
    gone = set(members) - set(live)
    if gone:
        connection.srem(user_key(user_id), *gone)
    return live


def session_key_for_sid(sid: str) -> str | None:
    value = _redis().get(sid_key(sid))
    return _text(value) if value else None


def indexed_user_ids() -> Iterator[str]:
    prefix = user_key("")
    for key in _redis().scan_iter(match=f"{prefix}*", count=500):
        yield _text(key)[len(prefix) :]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
