"""Step-up and parallel logins: settings that would quietly defeat them.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from accounts.conf import accounts_settings

_STEP_UP_PARAMETERS = ("acr_values", "max_age")


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
def check_parallel_logins(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    # mozilla-django-oidc drops the oldest login in progress once this many are kept.
    limit = getattr(settings, "OIDC_MAX_STATES", 50)
    if isinstance(limit, int) and limit >= 2:
        return []
    return [
        Warning(
            f"OIDC_MAX_STATES is {limit!r}: a login begun in one tab is forgotten when another "
            "tab begins one, and its callback is refused.",
            hint="Leave OIDC_MAX_STATES unset (50), or set it to a whole number of at least 2.",
            id="accounts.W016",
        )
    ]
