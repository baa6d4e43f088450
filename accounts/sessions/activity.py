"""The activity record of a session and the enforcement of its lifetimes.

The record (``<session key>:activity``, beside the session dict like the tokens) holds when the
session began and was last active, plus what the admin shows: user, the provider's ``sid``, IP
and user agent at login. Last activity is written at most once per ``activity_interval``, so a
request that needs neither that nor a refresh writes nothing to Redis.

Registered with the session store: the record itself, the rule that gives a logged-in session's
cookie (and Redis keys) its remaining lifetime, and the index clean-up when a session is deleted.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.sessions import lifetimes, records
from accounts.sessions.ending import end_session
from accounts.sessions.index import index_session, unindex_session
from accounts.sessions.store import SessionStore

logger = logging.getLogger(__name__)

RECORD_NAME = "activity"
records.register_record(RECORD_NAME)


@dataclass(frozen=True)
class SessionActivity:
    user_id: str
    created_at: float
    last_activity: float
    sid: str | None = None
    ip: str = ""
    user_agent: str = ""

    @classmethod
    def from_json(cls, data: Any) -> SessionActivity | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**data)
        except TypeError:
            return None


def load_activity(session: SessionBase, *, fresh: bool = False) -> SessionActivity | None:
    if not isinstance(session, SessionStore):
        return None
    return SessionActivity.from_json(session.read_record(RECORD_NAME, fresh=fresh))


def check_session_lifetime(request: HttpRequest) -> None:
    """End the session if either clock ran out under the current policy; else note activity.

    Raises ``SessionEnded`` (reason ``absolute_lifetime`` or ``inactivity_timeout``).
    """
    if not request.user.is_authenticated:
        return
    session = request.session
    activity = load_activity(session)
    now = lifetimes.now()
    if activity is None:
        # Logged in before sessions had an activity record: its clocks start now.
        _start(request, request.user, now)
        return
    policy = lifetimes.session_policy(session)
    deadlines = lifetimes.deadlines(activity.created_at, activity.last_activity, policy)
    if now >= deadlines.expires_at:
        end_session(request, deadlines.reason, "Your session has ended; please log in again.")
    if now - activity.last_activity >= policy.activity_interval:
        _record(request, dataclasses.replace(activity, last_activity=now), policy, now)


def _record(
    request: HttpRequest, activity: SessionActivity, policy: lifetimes.Policy, now: float
) -> None:
    session = request.session
    assert isinstance(session, SessionStore)
    session.write_record(RECORD_NAME, asdict(activity))
    ttl = lifetimes.remaining_lifetime(activity.created_at, activity.last_activity, policy, now)
    index_session(activity.user_id, session.session_key or "", activity.sid, ttl)
    # Saving re-sends the cookie with a max-age that follows the inactivity deadline, and resets
    # the TTL of the session and its records to the remaining lifetime.
    session.modified = True


def _start(request: HttpRequest, user: Any, now: float) -> None:
    claims = getattr(request, "oidc_claims", None) or {}
    sid = claims.get("sid")
    activity = SessionActivity(
        user_id=str(user.pk),
        created_at=now,
        last_activity=now,
        sid=sid if isinstance(sid, str) else None,
        ip=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.headers.get("User-Agent", "")[:300],
    )
    _record(request, activity, lifetimes.session_policy(request.session), now)


@records.register_cookie_age
def _remaining_lifetime(store: SessionBase, held: records.Records) -> int | None:
    # After login the session policy sets the lifetime: the cookie's max-age and the Redis TTLs
    # follow the time left. Read from the record as held, with no Redis round trip: this runs on
    # every save.
    activity = held.get(RECORD_NAME)
    if isinstance(activity, dict) and "created_at" in activity:
        return lifetimes.remaining_lifetime(
            activity["created_at"],
            activity["last_activity"],
            lifetimes.session_policy(store),
            lifetimes.now(),
        )
    return None


@records.register_on_delete
def _unindex(session_key: str, held: records.Records) -> None:
    # The index must not point at a deleted session (admin lists, back-channel logout by sid).
    activity = held.get(RECORD_NAME)
    if isinstance(activity, dict) and activity.get("user_id"):
        unindex_session(activity["user_id"], session_key, activity.get("sid"))


@receiver(user_logged_in)
def _start_on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Every login, OIDC or a break-glass password login to the admin, starts both clocks.
    if request is not None and isinstance(request.session, SessionStore):
        _start(request, user, lifetimes.now())
