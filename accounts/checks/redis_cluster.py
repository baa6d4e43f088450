"""A session cache on a Redis Cluster: nodes to reach, and a key layout that keeps each session in
one slot (``accounts.sessions.keys``), checked without reaching Redis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from redis.crc import key_slot

from accounts.cluster.client import ClusterClient, cluster_parameters
from accounts.conf import accounts_settings
from accounts.sessions import keys, records

# Made-up session keys: any two land in different slots unless something pins them to one.
_SAMPLES = ("checksamplekeyzero0000", "checksamplekeyone11111", "checksamplekeytwo22222")


@register()
def check_session_cache_on_a_cluster(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    alias = accounts_settings.SESSION_CACHE_ALIAS
    entry: dict[str, Any] = dict(settings.CACHES.get(alias, {}))
    configured = entry.get("OPTIONS")
    options: dict[str, Any] = configured if isinstance(configured, dict) else {}
    try:
        client_class = import_string(str(options.get("CLIENT_CLASS", "")))
    except ImportError:
        return []
    if not (isinstance(client_class, type) and issubclass(client_class, ClusterClient)):
        return []
    location = entry.get("LOCATION") or []
    locations = location.split(",") if isinstance(location, str) else list(location)
    try:
        cluster_parameters([str(loc).strip() for loc in locations if str(loc).strip()], options)
    except ImproperlyConfigured as exc:
        return [
            Error(
                f"The session cache ({alias!r}) is a Redis Cluster, but its LOCATION is not a "
                f"list of its nodes: {exc}",
                hint="Set REDIS_URL to one or more redis:// (or rediss://) URLs of cluster "
                "nodes, comma-separated, without a database number other than 0.",
                id="accounts.E036",
            )
        ]
    slots = [_slots_of(caches[alias], sample) for sample in _SAMPLES]
    if any(len(of_one) > 1 for of_one in slots):
        return [
            Error(
                f"The session cache ({alias!r}) is a Redis Cluster, but its key function puts "
                "the keys of one session in several slots: loading a session in one MGET would "
                "be refused.",
                hint="Keep the session key's hash tag ({…}) inside the final key: a KEY_FUNCTION "
                "may add to a key, not hash or reorder it.",
                id="accounts.E035",
            )
        ]
    if len({slot for of_one in slots for slot in of_one}) == 1:
        return [
            Warning(
                f"The session cache ({alias!r}) is a Redis Cluster, but every session's keys "
                "hash to the same slot: one primary holds them all.",
                hint="Take the braces ({…}) out of the cache's KEY_PREFIX (REDIS_KEY_PREFIX): "
                "Redis hashes only the first {…} of a key, and the prefix's comes first.",
                id="accounts.W018",
            )
        ]
    return []


def _slots_of(cache: Any, session_key: str) -> set[int]:
    cache_keys = [keys.session_cache_key(session_key)]
    cache_keys += [keys.record_cache_key(session_key, name) for name in records.record_names()]
    made = [str(cache.make_key(key)) for key in cache_keys] + [keys.refresh_lock_key(session_key)]
    return {key_slot(key.encode()) for key in made}
