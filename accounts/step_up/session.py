"""The level of the login behind a session: its ``acr`` and ``auth_time``, as the ID token of
that login said, kept in the session dict under one key that only this module names.

In the session dict rather than the token record: a refresh may bring an ID token without them
(OIDC Core §12.2 asks only that ``auth_time``, when present, stay the original login's), and the
login's level is the login's, not the latest token's. The dict is written by the callback alone,
right after ``auth.login()`` gave the session a new key, so no request holds a stale copy of it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from accounts.conf import accounts_settings
from accounts.protocol.step_up import Authentication

SESSION_KEY = "accounts_authentication"


def record_authentication(session: SessionBase, claims: Mapping[str, Any]) -> Authentication:
    """Keep what the verified ID token of a login says of it, for the session's later checks:
    only values in a usable form (``Authentication.from_claims``), never an ``auth_time`` still
    to come (the callback refused such a login if it asked for a recent one)."""
    authentication = Authentication.from_claims(claims).believable(
        now=time.time(), leeway=accounts_settings.OIDC_CLOCK_SKEW
    )
    session[SESSION_KEY] = authentication.to_json()
    return authentication


def session_authentication(data: Mapping[str, Any] | SessionBase) -> Authentication:
    """The session's login level; unknown (both None) for a session that has none recorded (a
    password login, or one that began before the level was kept). Read with the same checks
    as a new login's, so an odd value an earlier version kept counts as unknown."""
    stored = data.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return Authentication()
    return Authentication.from_claims(stored)
