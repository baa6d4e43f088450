"""Requirements enforced: the error that sends a user through the provider again when the
session's login falls short, and the callback's refusal of a login that came back short.

Both apply ``accounts.protocol.step_up.shortfall`` with ``OIDC_CLOCK_SKEW`` as the leeway: the
same rule at the callback as at every later check, so a login the callback accepted also meets
the requirement on the page it returns to.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from accounts.conf import accounts_settings
from accounts.exceptions import LoginRequired, StepUpFailed, StepUpRequired
from accounts.protocol.step_up import (
    Authentication,
    AuthenticationRequirement,
    Shortfall,
    shortfall,
)
from accounts.redirects import login_url_for
from accounts.step_up.session import session_authentication

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
