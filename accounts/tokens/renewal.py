"""Renewing the access token with the refresh token: once per expiry, whatever the concurrency.

Many requests of one session can see the token expire at the same moment, in several threads,
processes and hosts. With rotating refresh tokens only one of them may call the provider: a
second call would present the refresh token the first just consumed, the provider would take it
for theft and revoke the whole grant, and the user would be logged out. So:

1. threads of one process queue on a per-session lock (no Redis traffic for them);
2. processes and hosts queue on a per-session Redis lock whose TTL outlives the provider call
   (connect + read timeout + margin): a lock that expires while the provider is still answering
   lets a second caller in with the consumed token, which is the mistake oauth2-proxy made;
3. whoever gets the lock re-reads the token record from Redis, and uses it if another request
   renewed it meanwhile, without calling the provider.

The record is written only here, under the lock, and never inside the session dict (see
``accounts.sessions.store``), so no request can put an old refresh token back.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, NoReturn

from django.http import HttpRequest

from accounts.conf import accounts_settings
from accounts.exceptions import (
    InvalidIDToken,
    ProviderUnavailable,
    SessionEnded,
    TokenRecordUnreadable,
    TokenUnavailable,
)
from accounts.metrics import REFRESH_SECONDS, REFRESHES
from accounts.oidc.backend import client_credentials
from accounts.oidc.discovery import provider_metadata
from accounts.oidc.id_token import validate_id_token
from accounts.oidc.provider_http import json_object, provider_post_form
from accounts.sessions.ending import end_session
from accounts.sessions.lifetimes import session_policy
from accounts.signals import tokens_refreshed
from accounts.tokens.record import (
    TokenRecord,
    access_token_expiry,
    audience_key,
    load_tokens,
    store_tokens,
)
from accounts.tokens.single_flight import single_flight

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
    now = time.time()
    if not record.access_token_expired(now=now, leeway=_skew(request)):
        return record
    if not record.refresh_token:
        return record  # nothing to renew with; get_access_token refuses it once expired
    try:
        return _renew(request, record, force=False)
    except TokenUnavailable:
        if not record.access_token_expired(now=time.time()):
            logger.warning("refresh failed; the current access token is still valid, using it")
            return record
        raise


def force_refresh(request: HttpRequest) -> TokenRecord | None:
    """Renew now (an upstream rejected the token), unless another request just did."""
    record = _load(request)
    if record is None or not record.refresh_token:
        return record
    return _renew(request, record, force=True)


def token_for_api(
    request: HttpRequest, audience: str, scope: str | None, *, force: bool = False
) -> str | None:
    """An access token for another API, obtained with the refresh grant and kept per audience
    (Auth0's multi-resource refresh tokens; RFC 8707 ``resource`` elsewhere). None when the
    session holds no tokens. The same lock and re-read apply as to the main token."""
    record = _load(request)
    if record is None:
        return None
    target = _Target(audience, scope)
    if not force:
        held = record.audience_token(target.key, now=time.time(), leeway=_skew(request))
        if held:
            return held
    if not record.refresh_token:
        raise TokenUnavailable("This session has no refresh token to get a token for that API.")
    renewed = _renew(request, record, force=force, target=target)
    return str(renewed.audience_tokens[target.key]["access_token"])


@dataclasses.dataclass(frozen=True)
class _Target:
    audience: str
    scope: str | None

    @property
    def key(self) -> str:
        return audience_key(self.audience, self.scope)

    def parameters(self) -> dict[str, str]:
        how = accounts_settings.PRESET.audience_parameter
        params = {"scope": self.scope} if self.scope else {}
        if how == "scope":
            params["scope"] = self.scope or self.audience
        else:
            params[how] = self.audience
        return params


def _skew(request: HttpRequest) -> float:
    return session_policy(request.session).refresh_skew


def _load(request: HttpRequest, *, fresh: bool = False) -> TokenRecord | None:
    try:
        return load_tokens(request.session, fresh=fresh)
    except TokenRecordUnreadable:
        end_session(
            request, "token_record_unreadable", "Your session could not be read; please log in."
        )


def _renew(
    request: HttpRequest, stale: TokenRecord, *, force: bool, target: _Target | None = None
) -> TokenRecord:
    if not accounts_settings.OIDC_REFRESH_LOCK:
        # Only tests switch the lock off, to show what it prevents.
        return _call_provider_and_store(request, stale, target)
    session_key = request.session.session_key or ""
    with single_flight(session_key):
        fresh = _load(request, fresh=True)
        if fresh is None:
            # Logged out (another tab, an admin) while this request waited.
            raise SessionEnded("Your session has ended.", reason="logged_out")
        if _renewed_meanwhile(request, stale, fresh, target, force=force):
            return fresh
        return _call_provider_and_store(request, fresh, target)


def _renewed_meanwhile(
    request: HttpRequest,
    stale: TokenRecord,
    fresh: TokenRecord,
    target: _Target | None,
    *,
    force: bool,
) -> bool:
    now, skew = time.time(), _skew(request)
    if target is None:
        if fresh.access_token == stale.access_token:
            return False
        return force or not fresh.access_token_expired(now=now, leeway=skew)
    before, after = stale.audience_tokens.get(target.key), fresh.audience_tokens.get(target.key)
    if after is None or after == before:
        return False
    return force or fresh.audience_token(target.key, now=now, leeway=skew) is not None


def _call_provider_and_store(
    request: HttpRequest, record: TokenRecord, target: _Target | None
) -> TokenRecord:
    try:
        with REFRESH_SECONDS.time():
            renewed = _exchange_refresh_token(record, target)
    except (ProviderUnavailable, TokenUnavailable) as exc:
        REFRESHES.labels(outcome="unavailable").inc()
        if isinstance(exc, TokenUnavailable):
            raise
        raise TokenUnavailable(
            "The identity provider cannot be reached to renew your login; try again shortly."
        ) from exc
    except _RefreshRejected as exc:
        REFRESHES.labels(outcome="rejected").inc()
        # Nothing to revoke: the refresh token is dead already (invalid_grant) or came in an
        # answer this site refused.
        end_session(request, exc.reason, exc.message)
    store_tokens(request.session, renewed)
    logger.info("tokens refreshed: user %s", request.user.pk)
    tokens_refreshed.send(sender=current_tokens, request=request, record=renewed)
    return renewed


class _RefreshRejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def _exchange_refresh_token(record: TokenRecord, target: _Target | None) -> TokenRecord:
    """One refresh grant (RFC 6749 section 6), its answer checked as OIDC Core 12.2 asks.

    Returns the new record: for the main token, a whole new record; for another API (``target``)
    the same record with that API's token added. Either way a rotated refresh token replaces
    the old one, which is never sent again.
    """
    metadata = provider_metadata()
    assert record.refresh_token  # callers check; a None here is a bug
    form = {"grant_type": "refresh_token", "refresh_token": record.refresh_token}
    if target is not None:
        form.update(target.parameters())
    response = provider_post_form(metadata.token_endpoint, form, auth=client_credentials())
    if response.status_code >= 500:
        raise ProviderUnavailable(f"The identity provider answered {response.status_code}.")
    body = json_object(response, metadata.token_endpoint)
    if response.status_code != 200 or "error" in body:
        _raise_for_error(str(body.get("error", response.status_code)))
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise ProviderUnavailable("The identity provider's refresh answer lacks access_token.")
    if str(body.get("token_type", "bearer")).lower() != "bearer":
        raise ProviderUnavailable("The identity provider issued a token type we cannot use.")
    claims = record.claims
    id_token = record.id_token
    if isinstance(body.get("id_token"), str):
        id_token = body["id_token"]
        claims = _check_refreshed_id_token(
            id_token, record.claims, metadata.issuer, metadata.jwks_uri
        )
    # RFC 6749 section 6: no refresh_token in the answer means keep using the old one.
    refresh_token = body.get("refresh_token") or record.refresh_token
    now = time.time()
    if target is not None:
        entry = {"access_token": body["access_token"], "expires_at": access_token_expiry(body, now)}
        return dataclasses.replace(
            record,
            refresh_token=refresh_token,
            id_token=id_token,
            claims=claims,
            audience_tokens={**record.audience_tokens, target.key: entry},
        )
    merged: dict[str, Any] = {
        **body,
        "id_token": id_token,
        "refresh_token": refresh_token,
        "scope": body.get("scope", record.scope),
    }
    renewed = dataclasses.replace(
        TokenRecord.from_token_response(merged, claims, now=now),
        audience_tokens=record.audience_tokens,
    )
    if "refresh_expires_in" not in body and record.refresh_token_expires_at is not None:
        # The provider did not restate the refresh token's lifetime; the old deadline stands.
        renewed = dataclasses.replace(
            renewed, refresh_token_expires_at=record.refresh_token_expires_at
        )
    return renewed


def _raise_for_error(error: str) -> NoReturn:
    if error == "invalid_grant":
        # Expired, revoked, or already used (rotation's reuse detection revoked the grant).
        # Retrying cannot help: the session is over.
        raise _RefreshRejected(
            "refresh_token_rejected", "Your login has expired or was revoked; please log in again."
        )
    if error in {"invalid_client", "unauthorized_client"}:
        # Our credentials or the client's grants are wrong: every user would fail the same way.
        # Ending sessions one by one would hide an outage behind a wave of logouts.
        logger.error(
            "CONFIGURATION: the provider refused this client's refresh (%s); check "
            "OIDC_CLIENT_ID / OIDC_CLIENT_SECRET and the refresh_token grant at the provider",
            error,
        )
    else:
        logger.error("the provider refused a refresh with %s", error)
    # The session stays: this is the provider's or the configuration's fault, not the user's.
    raise TokenUnavailable(f"The identity provider refused to issue the token ({error}).")


def _check_refreshed_id_token(
    token: str, original: dict[str, Any], issuer: str, jwks_uri: str
) -> dict[str, Any]:
    try:
        claims = validate_id_token(token, issuer=issuer, jwks_uri=jwks_uri, nonce=None)
    except InvalidIDToken as exc:
        raise _RefreshRejected(
            "id_token_mismatch", f"Your login could not be renewed: {exc.message}"
        ) from exc
    for name in ("iss", "sub", "aud"):
        if _as_set(claims.get(name)) != _as_set(original.get(name)):
            logger.warning("refreshed ID token changed %s; ending the session", name)
            raise _RefreshRejected(
                "id_token_mismatch", "The identity provider answered for someone else."
            )
    return claims


def _as_set(value: Any) -> frozenset[Any]:
    # "aud" may be a string or a one-element array and mean the same thing.
    return frozenset(value) if isinstance(value, list) else frozenset([value])
