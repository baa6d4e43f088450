"""Telling the person whose session was ended from outside why, when they come back.

An admin (or the user, from another device) ends a session; its browser still holds the cookie.
Its next request finds no session and would just be sent to log in, with no word of why. So
ending a session by key leaves a tombstone: a small Redis key, named by an HMAC of the session
key (never the key itself, a credential), holding the reason, for a day. The store reads it only
when a browser's key names no session (``records.register_on_missing``): a normal request pays
no round trip for it. The reason goes into the fresh session, which the login round trip keeps
(``auth.login`` cycles the key but keeps the data), and the login callback turns it into a
message (``take_notice``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.utils.crypto import salted_hmac

from accounts.conf import accounts_settings
from accounts.sessions import records

# A day: long enough for someone to come back to the tab the next morning; after that, a session
# that simply ended says as much as a revoked one.
TOMBSTONE_TTL = 86400

# The session value the reason travels in from the stale request to the login callback.
NOTICE_KEY = "accounts_ended_notice"

# What each reason for ending a session from outside tells the person it ended for. Reasons not
# here (a back-channel logout: the provider already told them) leave no tombstone.
_NOTICES = {
    "revoked_by_admin": "Your previous session was ended by an administrator.",
    "ended_by_user": "You logged this device out from another session.",
}


def tombstone_key(session_key: str) -> str:
    digest = salted_hmac("accounts.session-tombstone", session_key, algorithm="sha256")
    return f"ended-session:{digest.hexdigest()}"


def leave_tombstone(session_key: str, reason: str) -> None:
    if reason in _NOTICES:
        _cache().set(tombstone_key(session_key), reason, TOMBSTONE_TTL)


@records.register_on_missing
def _reason_it_ended(session_key: str) -> Mapping[str, Any]:
    reason = _cache().get(tombstone_key(session_key))
    return {NOTICE_KEY: reason} if reason in _NOTICES else {}


def take_notice(session: SessionBase) -> str | None:
    """The sentence for why this browser's previous session ended, once; None if it did not end
    from outside (or that was more than a day ago)."""
    return _NOTICES.get(session.pop(NOTICE_KEY, None) or "")


def _cache() -> Any:
    return caches[accounts_settings.SESSION_CACHE_ALIAS]
