"""The access token a request may use, renewed first when due: the rule behind
``accounts.api.get_access_token`` and ``get_access_credential``, what the async edge runs in a
thread when something is due, and ``with_access_token`` and ``with_access_credential``, which
hand it to a view."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeAlias, TypeVar, overload

from django.http import HttpRequest, HttpResponse

from accounts.conf import accounts_settings
from accounts.error_pages import error_response
from accounts.exceptions import AccountsError, LoginRequired
from accounts.redirects import login_url_for
from accounts.tokens.credential import AccessCredential
from accounts.tokens.renewal import current_tokens, force_refresh, token_for_api

P = ParamSpec("P")
T = TypeVar("T")
View: TypeAlias = Callable[Concatenate[HttpRequest, P], HttpResponse]
TokenView: TypeAlias = Callable[Concatenate[HttpRequest, str, P], HttpResponse]
CredentialView: TypeAlias = Callable[Concatenate[HttpRequest, AccessCredential, P], HttpResponse]


def access_credential_for(
    request: HttpRequest, *, audience: str | None, scope: str | None, force: bool
) -> AccessCredential:
    """``accounts.api.get_access_credential``; a ``LoginRequired`` carries the way back through
    the login (``login_url``)."""
    try:
        return _access_credential(request, audience=audience, scope=scope, force=force)
    except LoginRequired as exc:
        if not exc.login_url:
            exc.login_url = login_url_for(request)
        raise


def access_token_for(
    request: HttpRequest, *, audience: str | None, scope: str | None, force: bool
) -> str:
    """``accounts.api.get_access_token``: the token alone."""
    return access_credential_for(request, audience=audience, scope=scope, force=force).token


def _access_credential(
    request: HttpRequest, *, audience: str | None, scope: str | None, force: bool
) -> AccessCredential:
    if not request.user.is_authenticated:
        raise LoginRequired("You are not logged in.")
    if (audience and audience != accounts_settings.OIDC_AUDIENCE) or scope:
        credential = token_for_api(
            request, audience or accounts_settings.OIDC_AUDIENCE, scope, force=force
        )
        if credential is None:
            raise LoginRequired("This session holds no tokens.")
        return credential
    record = force_refresh(request) if force else current_tokens(request)
    if record is None:
        raise LoginRequired("This session holds no tokens.")
    if record.access_token_expired(now=time.time()):
        # No refresh token to renew it with: only a new login gives a new one.
        raise LoginRequired("Your access has expired; please log in again.")
    return record.credential


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

    The token alone does not say how to send it: with ``OIDC_USE_DPOP`` it is DPoP-bound.
    ``with_access_credential`` hands the view an ``AccessCredential``, which does.
    """
    decorate = _decorator(lambda credential: credential.token, audience, scope)
    return decorate if view is None else decorate(view)


@overload
def with_access_credential(view: CredentialView[P], /) -> View[P]: ...


@overload
def with_access_credential(
    *, audience: str | None = None, scope: str | None = None
) -> Callable[[CredentialView[P]], View[P]]: ...


def with_access_credential(
    view: CredentialView[P] | None = None,
    /,
    *,
    audience: str | None = None,
    scope: str | None = None,
) -> View[P] | Callable[[CredentialView[P]], View[P]]:
    """``with_access_token``, handing the view an ``AccessCredential``: the token and its type,
    and ``headers_for(method, url)`` to present it as that type asks (a DPoP-bound token with a
    fresh proof). ::

        @with_access_credential
        def dashboard(request, credential):
            answer = requests.get(URL, headers=credential.headers_for("GET", URL), timeout=10)
    """
    decorate = _decorator(lambda credential: credential, audience, scope)
    return decorate if view is None else decorate(view)


def _decorator(
    handed: Callable[[AccessCredential], T], audience: str | None, scope: str | None
) -> Callable[[Callable[Concatenate[HttpRequest, T, P], HttpResponse]], View[P]]:
    def decorate(view: Callable[Concatenate[HttpRequest, T, P], HttpResponse]) -> View[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            try:
                credential = access_credential_for(
                    request, audience=audience, scope=scope, force=False
                )
            except AccountsError as error:
                return error_response(request, error)
            return view(request, handed(credential), *args, **kwargs)

        return wrapper

    return decorate
