"""What the session store carries beside each session, registered by the modules that own it.

The store (``accounts.sessions.store``) is a storage engine: it fetches, moves, keeps alive and
deletes the records named here, fetches the shared values named here in the same ``MGET`` as the
session, and runs the hooks (on delete, and when a browser's key names no session), without
knowing what any of them mean. The owners register at
import (``activity`` and ``lifetimes`` here, the token record's module above), and
``AccountsConfig.ready()`` imports every owner, so all is in place before a request can load a
session. A record registered later would be missing from the sessions loaded before it.

Entries are keyed by name (hooks by their dotted path), so importing an owner twice registers
nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

# The records of one session, by name, as the store holds them (None: not there).
Records = Mapping[str, Any]

# ``rule(store, records)``: the session cookie's age in seconds, or None to leave it to the next
# rule, and in the end to ``SESSION_COOKIE_AGE``. ``records`` is what the store holds in memory
# (empty before a session exists): a rule must not read Redis, it runs on every save.
CookieAgeRule = Callable[[SessionBase, Records], int | None]

# ``hook(session_key, records)``: runs after a session's keys are deleted, with its records as
# they were read before (from memory for the current session, from Redis for another key).
OnDelete = Callable[[str, Records], None]

# ``hook(session_key)``: runs when the key a browser sent names no session (ended, expired or
# made up), and only then, so it may read Redis; returns values to start the fresh session with.
OnMissing = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Prefetch:
    """A value shared by all sessions, fetched with each one so reading it costs no round trip."""

    cache_key: str
    # The cached value to what the store hands out; None when it is missing or unusable.
    parse: Callable[[Any], Any]
    # The source of truth when the cached copy is unusable (it should publish it again).
    load: Callable[[], Any]


_records: dict[str, None] = {}  # an ordered set
_prefetches: dict[str, Prefetch] = {}
_cookie_age_rules: dict[str, CookieAgeRule] = {}
_delete_hooks: dict[str, OnDelete] = {}
_missing_hooks: dict[str, OnMissing] = {}


def register_record(name: str) -> None:
    """Keep record ``name`` beside every session: stored at ``<session key>:<name>``, fetched
    with the session, moved by ``cycle_key``, given the session's TTL, deleted with it."""
    _records[name] = None


def register_prefetch(
    name: str, cache_key: str, *, parse: Callable[[Any], Any], load: Callable[[], Any]
) -> None:
    """Fetch ``cache_key`` in the same ``MGET`` as every session (on a Redis Cluster, where it
    lives in another slot: this process's copy, ``shared_copies``); ``store.prefetched(name)``."""
    _prefetches[name] = Prefetch(cache_key, parse, load)


def register_cookie_age(rule: CookieAgeRule) -> CookieAgeRule:
    _cookie_age_rules[_path(rule)] = rule
    return rule


def register_on_delete(hook: OnDelete) -> OnDelete:
    _delete_hooks[_path(hook)] = hook
    return hook


def register_on_missing(hook: OnMissing) -> OnMissing:
    _missing_hooks[_path(hook)] = hook
    return hook


def record_names() -> tuple[str, ...]:
    return tuple(_records)


def prefetches() -> Mapping[str, Prefetch]:
    return _prefetches


def cookie_age_rules() -> tuple[CookieAgeRule, ...]:
    return tuple(_cookie_age_rules.values())


def delete_hooks() -> tuple[OnDelete, ...]:
    return tuple(_delete_hooks.values())


def missing_hooks() -> tuple[OnMissing, ...]:
    return tuple(_missing_hooks.values())


def _path(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"
