"""One refresh grant (RFC 6749 section 6), its answer checked as OIDC Core 12.2 asks.

Sends the refresh token, checks the answer, and returns the renewed record: for the main token a
new access token; for another API (an ``ApiTarget``) the same record with that API's token added.
Either way a rotated refresh token replaces the old one, which is never sent again. Writes
nothing: the caller holds the lock and stores the result.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn

from accounts.conf import accounts_settings
from accounts.exceptions import InvalidIDToken, ProviderTimedOut, TokenUnavailable
from accounts.oidc.discovery import provider_metadata
from accounts.oidc.id_token import validate_id_token
from accounts.oidc.token_endpoint import TokenEndpointRefused, checked_token_answer
from accounts.oidc.token_requests import TokenEndpointResponse, post_to_token_endpoint
from accounts.signals import EndReason
from accounts.tokens.record import TokenRecord
from accounts.tokens.targets import ApiTarget

logger = logging.getLogger(__name__)


class RefreshRejected(Exception):
    """The refresh failed in a way that ends the session; ``reason`` is the word the
    ``session_ended`` signal carries."""

    def __init__(self, reason: EndReason, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def refresh_grant(record: TokenRecord, target: ApiTarget | None = None) -> TokenRecord:
    """The record renewed with ``record``'s refresh token, for the main token or ``target``.

    Raises ``RefreshRejected`` (the session must end), ``TokenUnavailable`` (the provider
    refused for a reason that is not the user's) or ``ProviderUnavailable``.
    """
    metadata = provider_metadata()
    assert record.refresh_token  # callers check; a None here is a bug
    form = {"grant_type": "refresh_token", "refresh_token": record.refresh_token}
    if target is not None:
        form.update(target.parameters())
    sent = _post_with_one_retry(metadata.token_endpoint, form, record.access_token)
    try:
        answer = checked_token_answer(
            sent.response,
            metadata.token_endpoint,
            id_token_required=False,
            token_type_required=False,
            proof_sent=sent.proof_sent,
        )
    except TokenEndpointRefused as exc:
        _refused(exc.error)
    claims = None
    if isinstance(answer.get("id_token"), str):
        claims = _same_user(answer["id_token"], record.claims, metadata.issuer, metadata.jwks_uri)
    now = time.time()
    if target is None:
        return record.renewed_with(answer, claims=claims, now=now)
    return record.with_audience_token(target.key, answer, claims=claims, now=now)


def _post_with_one_retry(url: str, form: dict[str, str], renewing: str) -> TokenEndpointResponse:
    """POST the refresh; when no answer came in time, once more while the provider's reuse
    interval lasts.

    A provider that gave no answer may still have rotated the refresh token: with rotation the
    old one then works only within the provider's reuse interval, if it has one. Outside it, or
    without one, sending it again would look like theft and revoke the grant, so the failure
    is passed on (the session stays; docs/tokens.md says what the user sees).

    A DPoP nonce challenge is answered inside ``post_to_token_endpoint`` and is no such retry:
    the provider refused that request before looking at the refresh token."""
    started = time.monotonic()
    timeout = accounts_settings.OIDC_REFRESH_TIMEOUT
    try:
        return post_to_token_endpoint(url, form, timeout=timeout, renewing=renewing)
    except ProviderTimedOut:
        window = accounts_settings.OIDC_REFRESH_REUSE_INTERVAL
        if time.monotonic() - started >= window:
            raise
        logger.warning(
            "the refresh got no answer in time; sending it again within the reuse interval"
        )
        return post_to_token_endpoint(url, form, timeout=timeout, renewing=renewing)


def _refused(error: str) -> NoReturn:
    if error == "invalid_grant":
        # Expired, revoked, or already used (rotation's reuse detection revoked the grant).
        # Retrying cannot help: the session is over.
        raise RefreshRejected(
            "refresh_token_rejected", "Your login has expired or was revoked; please log in again."
        )
    if error in {"invalid_client", "unauthorized_client"}:
        # Our credentials or the client's grants are wrong: every user would fail the same way.
        # Ending sessions one by one would hide an outage behind a wave of logouts.
        logger.error(
            "CONFIGURATION: the provider refused this client's refresh (%s); check "
            "OIDC_CLIENT_ID, the client's credentials (OIDC_CLIENT_AUTH_METHOD and its secret or "
            "keys) and the refresh_token grant at the provider",
            error,
        )
    else:
        logger.error("the provider refused a refresh with %s", error)
    # The session stays: this is the provider's or the configuration's fault, not the user's.
    raise TokenUnavailable(f"The identity provider refused to issue the token ({error}).")


def _same_user(token: str, original: dict[str, Any], issuer: str, jwks_uri: str) -> dict[str, Any]:
    """The refreshed ID token's claims, once it is valid and names the same user for the same
    client as the login's (OIDC Core 12.2)."""
    try:
        claims = validate_id_token(token, issuer=issuer, jwks_uri=jwks_uri, nonce=None)
    except InvalidIDToken as exc:
        raise RefreshRejected(
            "id_token_mismatch", f"Your login could not be renewed: {exc.message}"
        ) from exc
    for name in ("iss", "sub", "aud"):
        if _as_set(claims.get(name)) != _as_set(original.get(name)):
            logger.warning("refreshed ID token changed %s; ending the session", name)
            raise RefreshRejected(
                "id_token_mismatch", "The identity provider answered for someone else."
            )
    return claims


def _as_set(value: Any) -> frozenset[Any]:
    # "aud" may be a string or a one-element array and mean the same thing.
    return frozenset(value) if isinstance(value, list) else frozenset([value])
