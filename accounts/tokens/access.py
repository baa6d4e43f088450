"""The access token a request may use, renewed first when due: the rule behind
``accounts.api.get_access_token`` (which adds the login URL to what it raises), and what the
async edge runs in a thread when something is due."""

from __future__ import annotations

import time

from django.http import HttpRequest

from accounts.conf import accounts_settings
from accounts.exceptions import LoginRequired
from accounts.tokens.renewal import current_tokens, force_refresh, token_for_api


def access_token_for(
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
