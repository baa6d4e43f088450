"""Admin access: staff from the provider's groups, throttled password logins, and someone able
to reach the admin at all.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from accounts.conf import accounts_settings


@register()
def check_staff_groups(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if accounts_settings.OIDC_GROUPS_CLAIM:
        return []
    named = [
        name
        for name in ("OIDC_STAFF_GROUPS", "OIDC_SUPERUSER_GROUPS")
        if getattr(accounts_settings, name)
    ]
    if not named:
        return []
    return [
        Error(
            f"{' and '.join(named)} {'is' if len(named) == 1 else 'are'} set, but "
            "OIDC_GROUPS_CLAIM is not.",
            hint="Set OIDC_GROUPS_CLAIM to the ID token claim that lists the user's groups "
            "(e.g. 'groups'); without it nobody is made staff.",
            id="accounts.E019",
        )
    ]


@register(Tags.security)
def check_password_login_throttle(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    from django.apps import apps

    from accounts.admin_access.password_login import is_password_backend

    backends = list(settings.AUTHENTICATION_BACKENDS)
    passwords = [i for i, path in enumerate(backends) if is_password_backend(path)]
    if not accounts_settings.PASSWORD_LOGIN or not passwords:
        return []
    if not apps.is_installed("axes"):
        return [_unthrottled("django-axes is not installed.")]
    from axes.backends import AxesStandaloneBackend

    from accounts.admin_access.lockout import PasswordLoginHandler

    guards = [i for i, path in enumerate(backends) if _subclass(path, AxesStandaloneBackend)]
    if not guards or guards[0] > passwords[0]:
        return [_unthrottled("No axes backend comes before the password backend.")]
    handler = getattr(settings, "AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler")
    if not _subclass(handler, PasswordLoginHandler):
        return [
            Warning(
                f"AXES_HANDLER {handler!r} would count and lock out OIDC logins too.",
                hint="Set AXES_HANDLER = 'accounts.admin_access.lockout.PasswordLoginHandler', so "
                "that only password logins are counted and locked out.",
                id="accounts.W006",
            )
        ]
    return []


def _subclass(path: str, base: type) -> bool:
    from django.utils.module_loading import import_string

    try:
        found = import_string(path)
    except ImportError:
        return False
    return isinstance(found, type) and issubclass(found, base)


def _unthrottled(why: str) -> CheckMessage:
    return Warning(
        f"Password logins are not rate-limited: {why}",
        hint="Add 'axes' to INSTALLED_APPS, 'axes.backends.AxesStandaloneBackend' first in "
        "AUTHENTICATION_BACKENDS and 'axes.middleware.AxesMiddleware' last in MIDDLEWARE (see "
        "docs/extending.md), or set ACCOUNTS_PASSWORD_LOGIN = False.",
        id="accounts.W005",
    )


@register(Tags.database)
def check_someone_can_be_staff(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With password login off, the admin is reached only through the provider: someone must
    be able to arrive there as staff."""
    if not databases or accounts_settings.PASSWORD_LOGIN:
        return []
    if accounts_settings.OIDC_STAFF_GROUPS or accounts_settings.OIDC_SUPERUSER_GROUPS:
        return []
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    try:
        staff_with_identity = (
            get_user_model()
            .objects.filter(is_staff=True, is_active=True, oidc_identities__isnull=False)
            .exists()
        )
    except DatabaseError:
        return []  # not migrated yet
    if staff_with_identity:
        return []
    return [
        Warning(
            "ACCOUNTS_PASSWORD_LOGIN is off, and nobody can reach the admin: no staff or "
            "superuser groups are set, and no staff user logs in through the provider.",
            hint="Set OIDC_STAFF_GROUPS (with OIDC_GROUPS_CLAIM), or make a user who logs in "
            "through the provider staff while password login is still on.",
            id="accounts.W007",
        )
    ]
