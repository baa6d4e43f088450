"""The public API other apps use to act for the logged-in user.

``get_access_token`` is the one function the proxy (or your own views) needs: a valid access
token for this request, refreshed first if it is about to expire, or an exception that says why
there is none. Each exception is an ``AccountsError`` with ``status`` and ``code`` an API
response can use as they are.
"""

from __future__ import annotations

import time

from django.http import HttpRequest

from accounts.conf import accounts_settings
from accounts.exceptions import LoginRequired, TokenUnavailable
from accounts.login_urls import login_url_for
from accounts.refresh import current_tokens, force_refresh, token_for_api

__all__ = ["LoginRequired", "TokenUnavailable", "get_access_token"]


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
    if not request.user.is_authenticated:
        raise LoginRequired("You are not logged in.", login_url=login_url_for(request))
    if (audience and audience != accounts_settings.OIDC_AUDIENCE) or scope:
        token = token_for_api(
            request, audience or accounts_settings.OIDC_AUDIENCE, scope, force=force
        )
        if token is None:
            raise LoginRequired("This session holds no tokens.", login_url=login_url_for(request))
        return token
    record = force_refresh(request) if force else current_tokens(request)
    if record is None:
        raise LoginRequired("This session holds no tokens.", login_url=login_url_for(request))
    if record.access_token_expired(now=time.time()):
        # No refresh token to renew it with: only a new login gives a new one.
        raise LoginRequired(
            "Your access has expired; please log in again.", login_url=login_url_for(request)
        )
    return record.access_token
