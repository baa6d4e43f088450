"""The app's required settings and how they fit together: the OIDC client, the site URL,
the session engine and the middleware order.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string
from django_redis.serializers.json import JSONSerializer

from accounts.conf import MOZILLA_OIDC_SETTINGS, accounts_settings
from accounts.protocol.presets import PRESETS

KNOWN_PROVIDERS = tuple(PRESETS)

_REQUIRED = (
    # (environment variable, accounts_settings attribute, check id)
    ("OIDC_ISSUER", "OIDC_ISSUER", "accounts.E002"),
    ("OIDC_CLIENT_ID", "OIDC_CLIENT_ID", "accounts.E003"),
    ("OIDC_CLIENT_SECRET", "OIDC_CLIENT_SECRET", "accounts.E004"),
)


@register()
def check_oidc_client(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    # private_key_jwt signs with a key instead (accounts.E024 asks for it); no secret needed.
    secret_unused = accounts_settings.OIDC_CLIENT_AUTH_METHOD == "private_key_jwt"
    for env_name, attribute, check_id in _REQUIRED:
        if attribute == "OIDC_CLIENT_SECRET" and secret_unused:
            continue
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


@register()
def check_mozilla_oidc_settings(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The apps carry the mozilla-django-oidc values they need; say so when a project sets one
    to something else, which would otherwise look as if it took effect."""
    return [
        Warning(
            f"{name} = {getattr(settings, name)!r} is ignored: the accounts app uses {value!r}.",
            hint=f"Remove {name} from your settings (docs/extending.md).",
            id="accounts.W009",
        )
        for name, value in MOZILLA_OIDC_SETTINGS.items()
        if hasattr(settings, name) and getattr(settings, name) != value
    ]


_JSON_SERIALIZER = "django_redis.serializers.json.JSONSerializer"


@register()
def check_session_cache_serializer(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """django-redis pickles by default, and unpickling runs code: whoever can write to Redis
    could then run code in every worker. The sessions and records are plain JSON values."""
    cache: dict[str, Any] = dict(settings.CACHES.get(accounts_settings.SESSION_CACHE_ALIAS, {}))
    if not str(cache.get("BACKEND", "")).startswith("django_redis."):
        return []  # accounts.E009's engine needs django-redis; another backend fails elsewhere
    options = cache.get("OPTIONS")
    serializer = options.get("SERIALIZER") if isinstance(options, dict) else None
    try:
        serializer_class = import_string(serializer) if isinstance(serializer, str) else None
    except ImportError:
        serializer_class = None
    if serializer_class is not None and issubclass(serializer_class, JSONSerializer):
        return []
    return [
        Error(
            f"The session cache ({accounts_settings.SESSION_CACHE_ALIAS!r}) does not serialize "
            "with JSON.",
            hint=f'Set "SERIALIZER": "{_JSON_SERIALIZER}" in its OPTIONS: django-redis pickles by '
            "default, and a pickle read back from Redis can run code.",
            id="accounts.E021",
        )
    ]
