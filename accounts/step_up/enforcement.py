"""Requirements enforced: the error that sends a user through the provider again when the
session's login falls short, the callback's refusal of a login that came back short, and
``login_required``, which puts a requirement (or none: any login) on a view.

Both apply ``accounts.protocol.step_up.shortfall`` with ``OIDC_CLOCK_SKEW`` as the leeway: the
same rule at the callback as at every later check, so a login the callback accepted also meets
the requirement on the page it returns to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeAlias, overload

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from accounts.conf import accounts_settings
from accounts.exceptions import LoginRequired, StepUpFailed, StepUpRequired
from accounts.protocol.step_up import (
    Authentication,
    AuthenticationRequirement,
    InvalidRequirement,
    Shortfall,
    shortfall,
)
from accounts.redirects import login_url_for
from accounts.step_up.session import session_authentication

P = ParamSpec("P")
View: TypeAlias = Callable[Concatenate[HttpRequest, P], HttpResponse]

# What a person is told when the session's login is not enough for what they asked for.
_NEEDED = {
    "acr_missing": "This needs a stronger login than the one this session began with.",
    "acr_not_accepted": "This needs a stronger login than the one this session began with.",
    "auth_time_missing": "This needs a recent login: please log in again.",
    "auth_time_ahead": "This needs a recent login: please log in again.",
    "auth_too_old": "This needs a recent login: please log in again.",
}


def check_authentication(request: HttpRequest, requirement: AuthenticationRequirement) -> None:
    """Raise unless ``request``'s user is logged in, with a login that meets ``requirement``.

    Nobody logged in: ``LoginRequired``, whose ``login_url`` already asks for the requirement,
    so one login is enough. A login that falls short: ``StepUpRequired``.
    """
    if not request.user.is_authenticated:
        raise LoginRequired("Please log in.", login_url=login_url_for(request, requirement))
    if not requirement:
        return
    missing = shortfall(
        requirement,
        session_authentication(request.session),
        now=time.time(),
        leeway=accounts_settings.OIDC_CLOCK_SKEW,
    )
    if missing is not None:
        raise step_up_required(request, requirement, _NEEDED[missing])


def step_up_required(
    request: HttpRequest,
    requirement: AuthenticationRequirement,
    message: str = "This needs a stronger or more recent login.",
) -> StepUpRequired:
    """The error for ``request`` when ``requirement`` must be met first: its ``login_url`` asks
    the provider for it and comes back where the user was."""
    return StepUpRequired(
        message,
        acr_values=requirement.acr_values,
        max_age=requirement.max_age,
        login_url=login_url_for(request, requirement),
    )


def check_login_result(
    requirement: AuthenticationRequirement, claims: Mapping[str, Any], *, now: float
) -> None:
    """Refuse a login whose verified ID token does not meet what the login asked for."""
    if not requirement:
        return
    authentication = Authentication.from_claims(claims)
    missing = shortfall(
        requirement, authentication, now=now, leeway=accounts_settings.OIDC_CLOCK_SKEW
    )
    if missing is not None:
        raise StepUpFailed(_refusal(missing, requirement, authentication))


def _refusal(
    missing: Shortfall, requirement: AuthenticationRequirement, authentication: Authentication
) -> str:
    lead = "The login did not reach the level this needs:"
    if missing == "acr_missing":
        return f"{lead} the identity provider did not say how you authenticated (no 'acr')."
    if missing == "acr_not_accepted":
        values = requirement.acr_values
        wanted = values[0] if len(values) == 1 else "one of " + ", ".join(values)
        return (
            f"{lead} the identity provider authenticated you as '{authentication.acr}', "
            f"and this needs {wanted}."
        )
    if missing == "auth_time_missing":
        return f"{lead} the identity provider did not say when you authenticated (no 'auth_time')."
    if missing == "auth_time_ahead":
        return f"{lead} the identity provider says you authenticated at a time still to come."
    return (
        f"{lead} your authentication at the identity provider is older than the "
        f"{requirement.max_age} seconds this allows."
    )


@overload
def login_required(view: View[P], /) -> View[P]: ...


@overload
def login_required(
    *, acr: str | Sequence[str] | None = None, max_age: int | None = None
) -> Callable[[View[P]], View[P]]: ...


def login_required(
    view: View[P] | None = None,
    /,
    *,
    acr: str | Sequence[str] | None = None,
    max_age: int | None = None,
) -> View[P] | Callable[[View[P]], View[P]]:
    """Sends a page's visitor to the OIDC login and back, and answers an API caller (Accept
    JSON) with ``401 {"error": "login_required", "login_url"}`` instead of a redirect a script
    cannot follow. Django's own ``login_required`` works too, for pages, with
    ``LOGIN_URL = "accounts:login"``.

    Step-up: ``acr`` (one value, or a list, any of which will do; the first is asked for first)
    and ``max_age`` (seconds since the user last authenticated at the provider) require more of
    the login. A session whose login falls short is sent through the provider again with
    ``acr_values`` and ``max_age``, and comes back; an API caller gets
    ``401 {"error": "step_up_required", "login_url", "acr_values", "max_age"}``. ::

        @login_required(acr="http://schemas.openid.net/pape/policies/2007/06/multi-factor")
        def payouts(request): ...
    """
    try:
        requirement = AuthenticationRequirement.from_settings(acr, max_age)
    except InvalidRequirement as exc:
        raise ImproperlyConfigured(f"login_required: {exc}") from exc

    def decorate(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            # Raises LoginRequired or StepUpRequired, which AccountsErrorMiddleware renders as a
            # redirect or as JSON.
            check_authentication(request, requirement)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate if view is None else decorate(view)
