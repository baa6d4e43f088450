"""System checks for the accounts app. IDs are listed in docs/configuration.md; never reuse one.

Missing configuration is reported here (not by a crash in settings.py) so that one
``manage.py check`` lists every missing variable at once; ``config.startup`` runs these checks
under gunicorn too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from accounts.protocol.presets import PRESETS

KNOWN_PROVIDERS = tuple(PRESETS)

_REQUIRED = (
    # (environment variable, accounts_settings attribute, check id)
    ("OIDC_ISSUER", "OIDC_ISSUER", "accounts.E002"),
    ("OIDC_CLIENT_ID", "OIDC_CLIENT_ID", "accounts.E003"),
    ("OIDC_CLIENT_SECRET", "OIDC_CLIENT_SECRET", "accounts.E004"),
)


@register(Tags.security)
def check_secret_key(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    try:
        secret = settings.SECRET_KEY
    except ImproperlyConfigured:
        secret = ""
    if not secret:
        return [
            Error(
                "DJANGO_SECRET_KEY is not set.",
                hint="Set DJANGO_SECRET_KEY to a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
                id="accounts.E001",
            )
        ]
    return []


@register()
def check_oidc_client(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for env_name, attribute, check_id in _REQUIRED:
        if not getattr(accounts_settings, attribute):
            errors.append(
                Error(
                    f"{env_name} is not set.",
                    hint=f"Set {env_name} in the environment; see docs/configuration.md.",
                    id=check_id,
                )
            )
    issuer = accounts_settings.OIDC_ISSUER
    if issuer and urlsplit(issuer).scheme not in {"http", "https"}:
        errors.append(
            Error(
                f"OIDC_ISSUER {issuer!r} is not an http(s) URL.",
                hint="Use the issuer exactly as the provider's discovery document names it.",
                id="accounts.E006",
            )
        )
    if accounts_settings.OIDC_PROVIDER not in KNOWN_PROVIDERS:
        errors.append(
            Error(
                f"OIDC_PROVIDER {accounts_settings.OIDC_PROVIDER!r} is not a known preset.",
                hint=f"Use one of: {', '.join(KNOWN_PROVIDERS)}.",
                id="accounts.E007",
            )
        )
    if "openid" not in accounts_settings.OIDC_SCOPES:
        errors.append(
            Error(
                "OIDC_SCOPES does not include 'openid'.",
                hint="Without 'openid' the provider issues no ID token and nobody can log in.",
                id="accounts.E008",
            )
        )
    return errors


@register()
def check_site_url(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    site_url = accounts_settings.SITE_URL
    parts = urlsplit(site_url)
    if not site_url or parts.scheme not in {"http", "https"} or not parts.netloc:
        return [
            Error(
                "SITE_URL is not set to an absolute http(s) URL.",
                hint="Set SITE_URL to the public base URL, e.g. https://app.example.com; the "
                "redirect URI registered at the provider is SITE_URL + /auth/callback/.",
                id="accounts.E005",
            )
        ]
    if parts.scheme == "http" and not settings.DEBUG:
        return [
            Warning(
                "SITE_URL is plain http while DEBUG is off: cookies are not Secure and lose "
                "their __Host- prefix.",
                hint="Serve the site over https in production and set SITE_URL accordingly.",
                id="accounts.W001",
            )
        ]
    return []


@register()
def check_session_engine(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    # accounts.session_store is the path before 0.2, kept as a re-export.
    if settings.SESSION_ENGINE not in {"accounts.sessions.store", "accounts.session_store"}:
        errors.append(
            Error(
                "SESSION_ENGINE is not 'accounts.sessions.store'.",
                hint="Tokens are stored beside the session by accounts.sessions.store; other "
                "engines would lose them or put them in the session dict.",
                id="accounts.E009",
            )
        )
    if getattr(settings, "SESSION_COOKIE_SAMESITE", "Lax") == "Strict":
        errors.append(
            Error(
                "SESSION_COOKIE_SAMESITE is 'Strict'.",
                hint="The provider's redirect back to /auth/callback/ is cross-site; with Strict "
                "the browser drops the session cookie there and every login fails. Use 'Lax'.",
                id="accounts.E010",
            )
        )
    return errors


@register(Tags.security)
def check_token_encryption_keys(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    keys = list(getattr(settings, "TOKEN_ENCRYPTION_KEYS", []))
    if not keys:
        if settings.DEBUG:
            return [
                Warning(
                    "TOKEN_ENCRYPTION_KEYS is not set; tokens are encrypted with a key derived "
                    "from DJANGO_SECRET_KEY.",
                    hint="Fine for development. In production set TOKEN_ENCRYPTION_KEYS.",
                    id="accounts.W002",
                )
            ]
        return [
            Error(
                "TOKEN_ENCRYPTION_KEYS is not set.",
                hint="Set it to one or more comma-separated Fernet keys (the first encrypts, "
                "all decrypt); make one with `python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'`.",
                id="accounts.E011",
            )
        ]
    from cryptography.fernet import Fernet

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return [
                Error(
                    f"TOKEN_ENCRYPTION_KEYS entry {position} is not a Fernet key.",
                    hint="Each key is 32 url-safe base64-encoded bytes, as "
                    "Fernet.generate_key() makes them.",
                    id="accounts.E012",
                )
            ]
    return []


_ORDER = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.TokenRefreshMiddleware",
)


@register()
def check_middleware_order(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    for name in _ORDER[2:]:
        if name not in middleware:
            return [
                Error(
                    f"{name} is not in MIDDLEWARE.",
                    hint="Without it sessions outlive their policy or tokens are not renewed. "
                    f"The order must be: {', '.join(_ORDER)}.",
                    id="accounts.E013",
                )
            ]
    positions = [middleware.index(name) if name in middleware else -1 for name in _ORDER]
    if positions != sorted(positions) or -1 in positions:
        return [
            Error(
                "The session, authentication, lifetime and refresh middleware are out of order.",
                hint=f"Each needs what the one before attaches; use: {', '.join(_ORDER)}.",
                id="accounts.E014",
            )
        ]
    if "accounts.middleware.AccountsErrorMiddleware" not in middleware:
        return [
            Error(
                "accounts.middleware.AccountsErrorMiddleware is not in MIDDLEWARE.",
                hint="Without it login errors become 500s instead of pages with their status.",
                id="accounts.E015",
            )
        ]
    return []


@register(Tags.database)
def check_session_policy_advice(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The admin's advice, for ``manage.py check --database default`` and ``migrate``."""
    if not databases:
        return []
    from django.db import DatabaseError
    from redis.exceptions import RedisError

    from accounts.models import SessionPolicy
    from accounts.sessions.advice import lifetime_advice, skew_advice
    from accounts.sessions.lifetimes import Policy

    try:
        row = SessionPolicy.objects.filter(pk=1).first()
        policy = Policy.from_model(row) if row else None
        advice = [
            (text, check_id)
            for text, check_id in (
                (lifetime_advice(policy) if policy else None, "accounts.W003"),
                (skew_advice(policy) if policy else None, "accounts.W008"),
            )
            if text
        ]
    except (DatabaseError, RedisError):
        return []  # not migrated yet, or Redis not up: nothing to advise on
    return [
        Warning(text, hint="Change it in the admin: Accounts > Session policy.", id=check_id)
        for text, check_id in advice
    ]


# Values that ship in this repository for development and tests. Anyone can read them, so a
# production site (DEBUG off) must never run with one.
_PUBLIC_SECRETS = {
    "DJANGO_SECRET_KEY": (
        "dev-only-secret-key-not-for-production-use-0000",
        "compose-dev-only-secret-key-change-me-0000000000",
        "test-only-secret-key-0123456789abcdefghijklmnop",
    ),
    "OIDC_CLIENT_SECRET": ("bff-dev-secret-change-me", "bff-test-secret-0123456789abcdefghijkl"),
    "TOKEN_ENCRYPTION_KEYS": (
        "n2s3pKxS9QwFBoQ3rR5Hc1k0H0rHkGkUqM3Gk7Vh4dA=",
        "lDqCY6BPc0j1Mss4bLcbbTXhOQ2w9SPQcTAy4hR8LeM=",
    ),
}


@register(Tags.security, deploy=True)
def check_public_secrets(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    current = {
        "DJANGO_SECRET_KEY": [getattr(settings, "SECRET_KEY", "")],
        "OIDC_CLIENT_SECRET": [accounts_settings.OIDC_CLIENT_SECRET],
        "TOKEN_ENCRYPTION_KEYS": list(getattr(settings, "TOKEN_ENCRYPTION_KEYS", [])),
    }
    return [
        Error(
            f"{name} is a value published in this project's repository.",
            hint=f"Generate a new {name} for this deployment and keep it in the environment.",
            id="accounts.E016",
        )
        for name, known in _PUBLIC_SECRETS.items()
        if any(value in known for value in current[name])
    ]


@register(Tags.security, deploy=True)
def check_cookie_flags(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    https = urlsplit(accounts_settings.SITE_URL).scheme == "https"
    if https and not settings.SESSION_COOKIE_SECURE:
        messages.append(
            Error(
                "SESSION_COOKIE_SECURE is off although SITE_URL is https.",
                hint="The session cookie would also travel over plain http. Leave it as "
                "config/settings.py sets it.",
                id="accounts.E017",
            )
        )
    if not settings.SESSION_COOKIE_HTTPONLY:
        messages.append(
            Error(
                "SESSION_COOKIE_HTTPONLY is off.",
                hint="Scripts on the page could read the session cookie, the one credential "
                "the browser holds.",
                id="accounts.E018",
            )
        )
    if https and not settings.SESSION_COOKIE_NAME.startswith("__Host-"):
        messages.append(
            Warning(
                f"SESSION_COOKIE_NAME {settings.SESSION_COOKIE_NAME!r} lacks the __Host- prefix.",
                hint="__Host- makes the browser refuse the cookie from subdomains or over http.",
                id="accounts.W004",
            )
        )
    return messages


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

    from accounts.password_login import is_password_backend

    backends = list(settings.AUTHENTICATION_BACKENDS)
    passwords = [i for i, path in enumerate(backends) if is_password_backend(path)]
    if not accounts_settings.PASSWORD_LOGIN or not passwords:
        return []
    if not apps.is_installed("axes"):
        return [_unthrottled("django-axes is not installed.")]
    from axes.backends import AxesStandaloneBackend

    from accounts.lockout import PasswordLoginHandler

    guards = [i for i, path in enumerate(backends) if _subclass(path, AxesStandaloneBackend)]
    if not guards or guards[0] > passwords[0]:
        return [_unthrottled("No axes backend comes before the password backend.")]
    handler = getattr(settings, "AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler")
    if not _subclass(handler, PasswordLoginHandler):
        return [
            Warning(
                f"AXES_HANDLER {handler!r} would count and lock out OIDC logins too.",
                hint="Set AXES_HANDLER = 'accounts.lockout.PasswordLoginHandler', so that only "
                "password logins are counted and locked out.",
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
