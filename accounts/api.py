"""The public API other apps use to act for the logged-in user.

``get_access_token`` is the one function the proxy (or your own views) needs: a valid access
token for this request, refreshed first if it is about to expire, or an exception that says why
there is none. Each exception is an ``AccountsError`` with ``status`` and ``code`` an API
response can use as they are; a ``LoginRequired`` always carries the ``login_url`` that brings
the user back to what they were doing.

``aget_edge_token`` is the same for an asyncio edge (the proxy's ASGI handler): one Redis round
trip when nothing is due, the sync rules in a thread when something is. ``watch_session_end``
gives it an event set when the session ends (however it ends), so that an open stream or
socket can close.

``dpop_proof`` signs the DPoP proof (RFC 9449) that goes with that token to an API that takes
DPoP-bound tokens, with the key the token is bound to; ``nonce_to_retry_with`` and
``usable_nonce`` read such an API's nonce challenges, and ``LatestNonces`` keeps each API's
latest nonce as the token endpoint keeps the provider's. The keys never leave the server.

``with_access_token`` hands a view that token and answers for it when there is none (a page's
visitor goes to the login, an API caller gets 401 JSON), so the view needs no try/except.
``login_required`` protects a view with this app's login, and can require a stronger or a recent
one (step-up: ``acr``, ``max_age``); ``check_authentication`` is the same check for code that
decides at run time, and ``step_up_required`` the error for a requirement someone else stated (an
upstream's RFC 9470 challenge). ``get_logged_in_user`` says who is logged in (the display name,
the public claims of the ID token, and the login's ``acr`` and ``auth_time``), and the context
processor ``logged_in_user_context`` gives templates the same as ``logged_in_user``.

Other apps import from this module only (tests/proxy/test_boundaries.py holds the proxy to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.edge import (
    EdgeError,
    EdgeRequest,
    EdgeToken,
    aclose_edge,
    aget_edge_token,
    watch_session_end,
)
from accounts.error_pages import treat_as_api_call
from accounts.exceptions import (
    AccountsError,
    LoginRequired,
    StepUpRequired,
    TokenRecordUnreadable,
    TokenUnavailable,
)
from accounts.oidc.dpop_client import (
    DPoPKeyMissing,
    access_token_proof,
    dpop_bound_tokens,
    dpop_keys_usable,
)
from accounts.protocol.dpop import LatestNonces, nonce_to_retry_with, usable_nonce
from accounts.protocol.step_up import AuthenticationRequirement, InvalidRequirement
from accounts.step_up.enforcement import check_authentication, login_required, step_up_required
from accounts.step_up.session import session_authentication
from accounts.tokens.access import access_token_for, with_access_token
from accounts.tokens.record import load_tokens

__all__ = [
    "AccountsError",
    "AuthenticationRequirement",
    "DPoPKeyMissing",
    "EdgeError",
    "EdgeRequest",
    "EdgeToken",
    "InvalidRequirement",
    "LatestNonces",
    "LoggedInUser",
    "LoginRequired",
    "StepUpRequired",
    "TokenUnavailable",
    "aclose_edge",
    "aget_edge_token",
    "check_authentication",
    "display_name",
    "dpop_bound_tokens",
    "dpop_keys_usable",
    "dpop_proof",
    "get_access_token",
    "get_logged_in_user",
    "logged_in_user_context",
    "login_required",
    "nonce_to_retry_with",
    "step_up_required",
    "treat_as_api_call",
    "usable_nonce",
    "watch_session_end",
    "with_access_token",
]


def get_access_token(
    request: HttpRequest,
    *,
    audience: str | None = None,
    scope: str | None = None,
    force: bool = False,
) -> str:
    """A valid access token for ``request``'s user.

    ``audience`` (and ``scope``) ask for a token for another API than the login's
    (``OIDC_AUDIENCE``): it is obtained with the refresh grant and kept per audience.

    ``force=True`` renews the token even if it looks valid (an upstream answered 401); when
    another request of the same session renewed it meanwhile, that token is used instead, so a
    burst of 401s costs one refresh.

    Raises ``LoginRequired`` (401; ``SessionEnded`` when the session was just ended, e.g. the
    refresh token was rejected) or ``TokenUnavailable`` (503: expired and the provider cannot
    renew it now; the session is kept).
    """
    return access_token_for(request, audience=audience, scope=scope, force=force)


def dpop_proof(access_token: str, *, method: str, url: str, nonce: str | None = None) -> str:
    """The ``DPoP`` header for sending ``access_token`` with ``method`` to ``url``: a proof
    signed with the key the token is bound to (``OIDC_DPOP_KEYS``), new for every call, with
    ``nonce`` when the API asked for one. Raises ``DPoPKeyMissing`` (503) without a key."""
    return access_token_proof(access_token, method=method, url=url, nonce=nonce)


@dataclass(frozen=True)
class LoggedInUser:
    """Who is logged in, as the ID token says: ``name`` to greet them by, the claims that
    ``OIDC_PUBLIC_CLAIMS`` allows pages to show (never a token), and how and when the login
    authenticated them (``acr``, ``auth_time``; None when the provider did not say)."""

    name: str
    claims: Mapping[str, Any]
    acr: str | None = None
    auth_time: float | None = None

    def __str__(self) -> str:
        return self.name


def get_logged_in_user(request: HttpRequest) -> LoggedInUser | None:
    """The request's logged-in user, or None. A user who logged in with a password (the admin's
    break-glass accounts) has no ID token: their name is Django's, their claims empty."""
    user = request.user
    if not user.is_authenticated:
        return None
    try:
        record = load_tokens(request.session)
    except TokenRecordUnreadable:
        # The middleware ends such a session before any view runs; never fail a page over it.
        record = None
    claims = record.public_claims() if record else {}
    fallback = user.get_full_name() or user.get_username()
    level = session_authentication(request.session)
    return LoggedInUser(
        name=display_name(claims) or fallback,
        claims=claims,
        acr=level.acr,
        auth_time=level.auth_time,
    )


def display_name(claims: Mapping[str, Any]) -> str:
    """The name to greet someone by, from ID token claims; empty if they name nobody."""
    for name in ("name", "preferred_username", "nickname", "email", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def logged_in_user_context(request: HttpRequest) -> dict[str, object]:
    """Context processor: ``logged_in_user`` is ``get_logged_in_user(request)``, looked up only
    when a template uses it. ``{% if logged_in_user %}Hello, {{ logged_in_user.name }}``; Django's
    own ``{{ user }}`` shows the username, which for OIDC users carries a hash to stay unique.
    """
    return {"logged_in_user": SimpleLazyObject(lambda: get_logged_in_user(request))}
