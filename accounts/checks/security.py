"""Secrets and cookies: the secret key, the token record's keys, values published in this
repository, and the session cookie's flags.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings


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
