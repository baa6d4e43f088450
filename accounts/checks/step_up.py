"""Step-up and logins in progress: settings that would quietly defeat them.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from accounts.conf import DEFAULT_LOGIN_TIMEOUT, accounts_settings, seconds_from
from accounts.oidc.login_cookies import MAX_LOGINS_PER_BROWSER

_STEP_UP_PARAMETERS = ("acr_values", "max_age")

# A login at the provider takes a person typing a name, a password and perhaps a code.
MIN_LOGIN_TIMEOUT = 60


@register()
def check_step_up_parameters(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    named = [p for p in _STEP_UP_PARAMETERS if p in accounts_settings.OIDC_EXTRA_AUTH_PARAMS]
    if not named:
        return []
    return [
        Warning(
            f"OIDC_EXTRA_AUTH_PARAMS sets {', '.join(named)}: every login asks the provider for "
            "it, but nothing checks that the login met it (a provider may ignore it).",
            hint="Require it where it matters, which also checks the ID token's acr and "
            'auth_time: login_required(acr=..., max_age=...) from accounts.api, or "acr" and '
            '"max_age" on a proxy upstream.',
            id="accounts.W015",
        )
    ]


@register()
def check_login_timeout(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    value = getattr(settings, "OIDC_LOGIN_TIMEOUT", DEFAULT_LOGIN_TIMEOUT)
    seconds = seconds_from(value)
    if seconds is None:
        problem = f"is not a positive whole number of seconds, so {DEFAULT_LOGIN_TIMEOUT} is used"
    elif seconds < MIN_LOGIN_TIMEOUT:
        problem = (
            "is shorter than a person takes to log in at the provider: the callback of a "
            "slower login is refused as expired"
        )
    else:
        return []
    return [
        Warning(
            f"OIDC_LOGIN_TIMEOUT ({value!r}) {problem}.",
            hint=f"Leave it unset ({DEFAULT_LOGIN_TIMEOUT} seconds), or set a whole number of "
            f"seconds, at least {MIN_LOGIN_TIMEOUT}.",
            id="accounts.W021",
        )
    ]


# mozilla-django-oidc's settings for the logins in progress it would keep in the session.
_UNREAD_LOGIN_SETTINGS = (
    "OIDC_MAX_STATES",
    "OIDC_STATE_SIZE",
    "OIDC_NONCE_SIZE",
    "OIDC_PKCE_CODE_VERIFIER_SIZE",
)


@register()
def check_unread_login_settings(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    return [
        Warning(
            f"{name} is set but not read: logins in progress are not kept in the session, and "
            "their state, nonce and PKCE verifier are made by the accounts app (32, 32 and 64 "
            f"characters); a browser holds at most {MAX_LOGINS_PER_BROWSER} of them.",
            hint=f"Remove {name} from your settings.",
            id="accounts.W022",
        )
        for name in _UNREAD_LOGIN_SETTINGS
        if hasattr(settings, name)
    ]
