"""The access token a request may use, renewed first when due: the rule behind
``accounts.api.get_access_token``, what the async edge runs in a thread when something is due,
and ``with_access_token``, which hands it to a view."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeAlias, overload

from django.http import HttpRequest, HttpResponse

from accounts.conf import accounts_settings
from accounts.error_pages import error_response
from accounts.exceptions import AccountsError, LoginRequired
from accounts.redirects import login_url_for
from accounts.tokens.renewal import current_tokens, force_refresh, token_for_api

P = ParamSpec("P")
View: TypeAlias = Callable[Concatenate[HttpRequest, P], HttpResponse]
TokenView: TypeAlias = Callable[Concatenate[HttpRequest, str, P], HttpResponse]


def access_token_for(
    request: HttpRequest, *, audience: str | None, scope: str | None, force: bool
) -> str:
    """``accounts.api.get_access_token``; a ``LoginRequired`` carries the way back through the
    login (``login_url``)."""
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


@overload
def with_access_token(view: TokenView[P], /) -> View[P]: ...


@overload
def with_access_token(
    *, audience: str | None = None, scope: str | None = None
) -> Callable[[TokenView[P]], View[P]]: ...


def with_access_token(
    view: TokenView[P] | None = None,
    /,
    *,
    audience: str | None = None,
    scope: str | None = None,
) -> View[P] | Callable[[TokenView[P]], View[P]]:
    """Calls ``view(request, token, ...)`` with a valid access token (``get_access_token``'s,
    for ``audience`` and ``scope`` when given); without one, answers as this app answers any
    of its errors: a page's visitor is sent to the login and back, an API caller (Accept JSON)
    gets ``401 {"error": "login_required", "login_url"}``, and a token the provider cannot
    renew right now is a 503. ::

        @with_access_token
        def dashboard(request, token): ...

        @with_access_token(audience="https://reports.example", scope="read:reports")
        def reports(request, token): ...
    """

    def decorate(view: TokenView[P]) -> View[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            try:
                token = access_token_for(request, audience=audience, scope=scope, force=False)
            except AccountsError as error:
                return error_response(request, error)
            return view(request, token, *args, **kwargs)

        return wrapper

    return decorate if view is None else decorate(view)
