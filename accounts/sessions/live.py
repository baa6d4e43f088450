"""Live sessions seen from outside a request: listed for the admin and for the user's own page,
and ended one at a time or all of a user's at once.

Session keys are credentials, so pages never show them: a session is named by its *handle*, an
HMAC of the key that cannot be turned back into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.conf import accounts_settings
from accounts.sessions import index as session_index
from accounts.sessions import lifetimes
from accounts.sessions.activity import RECORD_NAME as ACTIVITY
from accounts.sessions.activity import SessionActivity
from accounts.sessions.ending import session_was_ended
from accounts.sessions.store import SessionStore
from accounts.sessions.tombstones import leave_tombstone
from accounts.signals import EndReason


@dataclass(frozen=True)
class LiveSession:
    session_key: str
    activity: SessionActivity
    absolute_deadline: float
    inactivity_deadline: float

    @property
    def handle(self) -> str:
        return session_handle(self.session_key)

    @property
    def expires_at(self) -> float:
        return min(self.absolute_deadline, self.inactivity_deadline)

    # Datetimes for templates.
    @property
    def logged_in(self) -> datetime:
        return _datetime(self.activity.created_at)

    @property
    def last_active(self) -> datetime:
        return _datetime(self.activity.last_activity)

    @property
    def expires(self) -> datetime:
        return _datetime(self.expires_at)


def _datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def session_handle(session_key: str) -> str:
    return salted_hmac("accounts.session-handle", session_key, algorithm="sha256").hexdigest()[:20]


def sessions_of(user_id: object) -> list[LiveSession]:
    store = SessionStore()
    keys = session_index.session_keys_of(user_id, store.exists)
    return _describe(keys)


def all_sessions() -> list[LiveSession]:
    found: list[LiveSession] = []
    for user_id in session_index.indexed_user_ids():
        found.extend(sessions_of(user_id))
    return sorted(found, key=lambda s: s.activity.last_activity, reverse=True)


def find_by_handle(sessions: list[LiveSession], handle: str) -> LiveSession | None:
    return next((s for s in sessions if constant_time_compare(s.handle, handle)), None)


def end_session_by_key(session_key: str, *, reason: EndReason) -> None:
    """Delete the session, its records and index entries, then run the session-end hooks (the
    token record's owner revokes the refresh token) and send ``session_ended``. The browser that
    held it is told why on its next login (``accounts.sessions.tombstones``).
    """
    store = SessionStore(session_key)
    held = store.records()
    store.delete()
    leave_tombstone(session_key, reason)
    activity = held.get(ACTIVITY)
    user_id = activity.get("user_id") if isinstance(activity, dict) else None
    session_was_ended(
        sender=end_session_by_key,
        session_key=session_key,
        request=None,
        user=get_user_model().objects.filter(pk=user_id).first() if user_id else None,
        user_id=user_id,
        reason=reason,
        records=held,
        in_request=False,
    )


def end_sessions_of(user_id: object, *, reason: EndReason, keep: str | None = None) -> int:
    ended = 0
    for live in sessions_of(user_id):
        if live.session_key != keep:
            end_session_by_key(live.session_key, reason=reason)
            ended += 1
    return ended


def _describe(keys: list[str]) -> list[LiveSession]:
    if not keys:
        return []
    store = SessionStore()
    cache = caches[accounts_settings.SESSION_CACHE_ALIAS]
    record_keys = {key: store.record_key(ACTIVITY, key) for key in keys}
    found = cache.get_many(list(record_keys.values()))
    policy = store.policy()
    sessions = []
    for key, record_key in record_keys.items():
        activity = SessionActivity.from_json(found.get(record_key))
        if activity is None:
            continue
        deadlines = lifetimes.deadlines(activity.created_at, activity.last_activity, policy)
        sessions.append(LiveSession(key, activity, deadlines.absolute, deadlines.inactivity))
    return sessions
