"""Sessions written before 0.2, moved to today's key names (``accounts.sessions.keys``) the
first time they are read, so an upgrade logs nobody out.

Only a browser whose key names no session under today's names pays for it: one script that
renames the old keys, if there are any, and says whether the session now exists. The rename keeps
each key's TTL. There are no such keys on a Redis Cluster (0.1 could not run on one), so a cluster
never runs it. Sessions written before 0.2 have all ended once the longest session lifetime has
passed since the upgrade; a later release drops this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from accounts.sessions import keys

# KEYS are (old, new) pairs, the session dict first. Atomic: nothing reads a half-moved session.
MOVE_SCRIPT = """
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('RENAME', KEYS[i], KEYS[i + 1]) end
end
return redis.call('EXISTS', KEYS[2])
"""


def moves(session_key: str, record_names: Iterable[str]) -> list[tuple[str, str]]:
    """(old, new) cache keys of a session and its records, the session dict first."""
    pairs = [(keys.legacy_session_cache_key(session_key), keys.session_cache_key(session_key))]
    pairs.extend(
        (keys.legacy_record_cache_key(session_key, name), keys.record_cache_key(session_key, name))
        for name in record_names
    )
    return pairs


def script_keys(
    session_key: str, record_names: Iterable[str], make_key: Callable[[str], Any]
) -> list[str]:
    """The script's KEYS, made final with the cache's ``make_key``."""
    return [str(make_key(key)) for pair in moves(session_key, record_names) for key in pair]


def move_session(cache_client: Any, session_key: str, record_names: Iterable[str]) -> bool:
    """Move a session written before 0.2 (sync); True when it now exists under today's keys."""
    made = script_keys(session_key, record_names, cache_client.make_key)
    redis = cache_client.get_client(write=True)
    return bool(redis.eval(MOVE_SCRIPT, len(made), *made))
