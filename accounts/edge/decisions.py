"""The edge's decision from one session snapshot: the token when nothing needs doing, else who
must act (nobody is logged in; or the sync rules must run in a thread). Pure: the snapshot in,
the same rules the middleware applies (``lifetimes.deadlines``, ``activity_interval``,
``renewal_due``), a decision out."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth

from accounts.conf import accounts_settings
from accounts.exceptions import TokenRecordUnreadable
from accounts.protocol.step_up import AuthenticationRequirement, shortfall
from accounts.sessions import lifetimes
from accounts.sessions.activity import RECORD_NAME as ACTIVITY
from accounts.sessions.activity import SessionActivity
from accounts.sessions.async_read import SessionSnapshot
from accounts.step_up.session import session_authentication
from accounts.tokens.cipher import decrypt_record
from accounts.tokens.record import RECORD_NAME as TOKENS
from accounts.tokens.record import TokenRecord
from accounts.tokens.targets import ApiTarget

ANONYMOUS = object()
UPKEEP = object()


def fast_decision(
    snapshot: SessionSnapshot,
    audience: str | None,
    scope: str | None,
    *,
    now: float,
    requirement: AuthenticationRequirement | None = None,
) -> object:
    """The token (an ``AccessCredential``: its type is in the same record) when nothing needs
    doing, ``ANONYMOUS``, or ``UPKEEP`` (run the sync code).

    Pure: the snapshot in, a decision out."""
    data = snapshot.data
    if data is None or auth.SESSION_KEY not in data:
        return ANONYMOUS
    if data.get(auth.BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return UPKEEP  # Django decides what such a session is worth
    if requirement and shortfall(
        requirement,
        session_authentication(data),
        now=now,
        leeway=accounts_settings.OIDC_CLOCK_SKEW,
    ):
        return UPKEEP  # the sync check says what is missing, as it does for a page
    activity = SessionActivity.from_json(snapshot.records.get(ACTIVITY))
    policy = snapshot.prefetched.get("policy")
    if activity is None or not isinstance(policy, lifetimes.Policy):
        return UPKEEP
    deadlines = lifetimes.deadlines(activity.created_at, activity.last_activity, policy)
    if now >= deadlines.expires_at or now - activity.last_activity >= policy.activity_interval:
        return UPKEEP
    blob = snapshot.records.get(TOKENS)
    if not isinstance(blob, str):
        return UPKEEP
    try:
        record = _decrypted(blob)
    except TokenRecordUnreadable:
        return UPKEEP
    if (audience and audience != accounts_settings.OIDC_AUDIENCE) or scope:
        key = ApiTarget(audience or accounts_settings.OIDC_AUDIENCE, scope).key
        return record.audience_token(key, now=now, skew=policy.refresh_skew) or UPKEEP
    if record.access_token_due(now=now, skew=policy.refresh_skew):
        return UPKEEP
    if record.access_token_expired(now=now):
        return UPKEEP
    return record.credential


# The last few records decrypted, by their ciphertext: a user's calls in a row decrypt once.
_decrypted_cache: dict[str, TokenRecord] = {}


def _decrypted(blob: str) -> TokenRecord:
    record = _decrypted_cache.get(blob)
    if record is None:
        record = TokenRecord.from_json(decrypt_record(blob))
        if len(_decrypted_cache) >= 256:
            _decrypted_cache.pop(next(iter(_decrypted_cache)))
        _decrypted_cache[blob] = record
    return record
