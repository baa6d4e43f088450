"""The public API other apps use to act for the logged-in user.

``get_access_token`` is the one function the proxy (or your own views) needs: a valid access
token for this request, refreshed first if it is about to expire, or an exception that says why
there is none. Each exception is an ``AccountsError`` with ``status`` and ``code`` an API
response can use as they are; a ``LoginRequired`` always carries the ``login_url`` that brings
the user back to what they were doing.

``aget_edge_token`` is the same for an asyncio edge (the proxy's ASGI handler): one Redis round
trip when nothing is due, the sync rules in a thread when something is.

``login_required`` protects a view with this app's login. Other apps import from this module
only (tests/proxy/test_boundaries.py holds the proxy to it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from accounts.conf import accounts_settings
from accounts.edge import EdgeError, EdgeRequest, EdgeToken, aclose_edge, aget_edge_token
from accounts.error_pages import treat_as_api_call
from accounts.exceptions import AccountsError, LoginRequired, TokenUnavailable
from accounts.redirects import login_url_for
from accounts.tokens.renewal import current_tokens, force_refresh, token_for_api

__all__ = [
    "AccountsError",
    "EdgeError",
    "EdgeRequest",
    "EdgeToken",
    "LoginRequired",
    "TokenUnavailable",
    "aclose_edge",
    "aget_edge_token",
    "get_access_token",
    "login_required",
    "treat_as_api_call",
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
    try:
        return _access_token(request, audience=audience, scope=scope, force=force)
    except LoginRequired as exc:
        if not exc.login_url:
            exc.login_url = login_url_for(request)
        raise


def _access_token(
    request: HttpRequest, *, audience: str | None, scope: str | None, force: bool
) -> str:
    if not request.user.is_authenticated:
        raise LoginRequired("You are not logged in.")
    if (audience and audience != accounts_settings.OIDC_AUDIENCE) or scope:
        token = token_for_api(
            request, audience or accounts_settings.OIDC_AUDIENCE, scope, force=force
        )
        if token is None:
            raise LoginRequired("This session holds no tokens.")
        return token
    record = force_refresh(request) if force else current_tokens(request)
    if record is None:
        raise LoginRequired("This session holds no tokens.")
    if record.access_token_expired(now=time.time()):
        # No refresh token to renew it with: only a new login gives a new one.
        raise LoginRequired("Your access has expired; please log in again.")
    return record.access_token


View = Callable[..., HttpResponse]


def login_required(view: View) -> View:
    """Sends a page's visitor to the OIDC login and back, and answers an API caller (Accept
    JSON) with ``401 {"error": "login_required", "login_url"}`` instead of a redirect a script
    cannot follow. Django's own ``login_required`` works too, for pages, with
    ``LOGIN_URL = "accounts:login"``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            # Rendered as a redirect or as JSON by AccountsErrorMiddleware.
            raise LoginRequired("Please log in.", login_url=login_url_for(request))
        return view(request, *args, **kwargs)

    return wrapper
