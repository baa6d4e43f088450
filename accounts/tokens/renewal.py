"""Renewing the access token with the refresh token: once per expiry, whatever the concurrency.

Many requests of one session can see the token expire at the same moment, in several threads,
processes and hosts. With rotating refresh tokens only one of them may call the provider: a
second call would present the refresh token the first just consumed, the provider would take it
for theft and revoke the whole grant, and the user would be logged out. So a renewal goes:

1. due? The access token expires within the policy's refresh skew, capped at half its
   lifetime (``accounts.tokens.record.renewal_due``), or an upstream refused it;
2. single flight: threads, then processes and hosts, queue on a per-session lock whose Redis
   TTL outlives the provider call (``accounts.tokens.single_flight``); whoever gets it re-reads
   the record and uses it if another request renewed it meanwhile;
3. otherwise it calls the provider (``accounts.tokens.refresh_grant``) and stores the result.

The record is written only here, under the lock, and never inside the session dict (see
``accounts.sessions.store``), so no request can put an old refresh token back.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest

from accounts.conf import accounts_settings
from accounts.exceptions import (
    ProviderUnavailable,
    SessionEnded,
    TokenRecordUnreadable,
    TokenUnavailable,
)
from accounts.metrics import REFRESH_SECONDS, REFRESHES
from accounts.sessions.ending import end_session
from accounts.sessions.lifetimes import session_policy
from accounts.signals import tokens_refreshed
from accounts.tokens.credential import AccessCredential
from accounts.tokens.record import TokenRecord, load_tokens, store_tokens
from accounts.tokens.refresh_grant import RefreshRejected, refresh_grant
from accounts.tokens.single_flight import single_flight
from accounts.tokens.targets import ApiTarget

logger = logging.getLogger(__name__)


def current_tokens(request: HttpRequest) -> TokenRecord | None:
    """The session's tokens, renewed first if the access token expires within the skew.

    Returns the old record when renewal fails for a passing reason but its access token is
    still valid. Raises ``SessionEnded`` when the session had to end, ``TokenUnavailable``
    when the token has expired and cannot be renewed now.
    """
    record = _load(request)
    if record is None:
        return None
    skew = _refresh_skew(request)
    if not record.access_token_due(now=time.time(), skew=skew):
        return record
    if not record.refresh_token:
        return record  # nothing to renew with; get_access_token refuses it once expired
    try:
        return _renew(request, record, skew=skew, force=False)
    except TokenUnavailable:
        if not record.access_token_expired(now=time.time()):
            logger.warning("refresh failed; the current access token is still valid, using it")
            return record
        raise


def force_refresh(request: HttpRequest) -> TokenRecord | None:
    """Renew now (an upstream rejected the token), unless another request just did."""
    record = _load(request)
    if record is None or not record.refresh_token or _forced_recently(record, None, time.time()):
        return record
    return _renew(request, record, skew=_refresh_skew(request), force=True)


def token_for_api(
    request: HttpRequest, audience: str, scope: str | None, *, force: bool = False
) -> AccessCredential | None:
    """An access token for another API, with its own type, obtained with the refresh grant and
    kept per audience (Auth0's multi-resource refresh tokens; RFC 8707 ``resource`` elsewhere).
    None when the session holds no tokens. The same lock and re-read apply as to the main
    token."""
    record = _load(request)
    if record is None:
        return None
    target = ApiTarget(audience, scope)
    skew = _refresh_skew(request)
    if not force or _forced_recently(record, target.key, time.time()):
        held = record.audience_token(target.key, now=time.time(), skew=skew)
        if held:
            return held
    if not record.refresh_token:
        raise TokenUnavailable("This session has no refresh token to get a token for that API.")
    renewed = _renew(request, record, skew=skew, force=force, target=target)
    return renewed.audience_credential(target.key)


def _refresh_skew(request: HttpRequest) -> float:
    # The policy came with the session's own load, so this costs no round trip.
    return session_policy(request.session).refresh_skew


def _load(request: HttpRequest, *, fresh: bool = False) -> TokenRecord | None:
    try:
        return load_tokens(request.session, fresh=fresh)
    except TokenRecordUnreadable:
        end_session(
            request, "token_record_unreadable", "Your session could not be read; please log in."
        )


def _renew(
    request: HttpRequest,
    stale: TokenRecord,
    *,
    skew: float,
    force: bool,
    target: ApiTarget | None = None,
) -> TokenRecord:
    if not accounts_settings.OIDC_REFRESH_LOCK:
        # Only tests switch the lock off, to show what it prevents.
        return _call_provider_and_store(request, stale, target, force=force)
    with single_flight(request.session.session_key or ""):
        fresh = _load(request, fresh=True)
        if fresh is None:
            # Logged out (another tab, an admin) while this request waited.
            raise SessionEnded("Your session has ended.", reason="logged_out")
        if _renewed_meanwhile(stale, fresh, target, now=time.time(), skew=skew, force=force):
            return fresh
        return _call_provider_and_store(request, fresh, target, force=force)


def _renewed_meanwhile(
    stale: TokenRecord,
    fresh: TokenRecord,
    target: ApiTarget | None,
    *,
    now: float,
    skew: float,
    force: bool,
) -> bool:
    """Whether the record re-read under the lock already holds what this request came for.

    A forced renewal (an upstream refused the token) is satisfied by a token renewed meanwhile,
    and also by one that a forced renewal obtained less than ``OIDC_FORCED_REFRESH_INTERVAL``
    ago: an upstream that keeps refusing good tokens costs at most one refresh grant per
    interval, however many calls it refuses.
    """
    key = None if target is None else target.key
    if force and _forced_recently(fresh, key, now):
        return True
    if target is None:
        if fresh.access_token == stale.access_token:
            return False
        return force or not fresh.access_token_due(now=now, skew=skew)
    before, after = stale.audience_tokens.get(target.key), fresh.audience_tokens.get(target.key)
    if after is None or after == before:
        return False
    return force or fresh.audience_token(target.key, now=now, skew=skew) is not None


def _forced_recently(record: TokenRecord, key: str | None, now: float) -> bool:
    interval = accounts_settings.OIDC_FORCED_REFRESH_INTERVAL
    return now - record.forced_renewal_at(key) < interval


def _call_provider_and_store(
    request: HttpRequest, record: TokenRecord, target: ApiTarget | None, *, force: bool = False
) -> TokenRecord:
    try:
        with REFRESH_SECONDS.time():
            renewed = refresh_grant(record, target)
    except (ProviderUnavailable, TokenUnavailable) as exc:
        REFRESHES.labels(outcome="unavailable").inc()
        if isinstance(exc, TokenUnavailable):
            raise
        raise TokenUnavailable(
            "The identity provider cannot be reached to renew your login; try again shortly."
        ) from exc
    except RefreshRejected as exc:
        REFRESHES.labels(outcome="rejected").inc()
        # Nothing to revoke: the refresh token is dead already (invalid_grant) or came in an
        # answer this site refused.
        end_session(request, exc.reason, exc.message)
    if force:
        renewed = renewed.with_forced_renewal(
            None if target is None else target.key, now=time.time()
        )
    store_tokens(request.session, renewed)
    logger.info("tokens refreshed: user %s", request.user.pk)
    tokens_refreshed.send(sender=current_tokens, request=request, record=renewed)
    return renewed
