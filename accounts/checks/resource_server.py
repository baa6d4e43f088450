"""The resource-server side (``accounts.resource_server``): an API that checks access tokens
needs an issuer and an audience. Without them every token would be refused at run time; this
says so before the first request.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.protocol.dpop_verification import accepted_algorithms
from accounts.resource_server.conf import resource_server_settings

_AUTHENTICATION_CLASSES = {
    "accounts.resource_server.drf.AccessTokenAuthentication",
    # The path before 0.2, kept as a re-export.
    "accounts.drf.AccessTokenAuthentication",
}


@register()
def check_resource_server(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not _checks_access_tokens():
        return []
    missing = [
        name
        for name in ("RESOURCE_SERVER_ISSUER", "RESOURCE_SERVER_AUDIENCE")
        if not getattr(resource_server_settings, name)
    ]
    if not missing:
        return []
    return [
        Error(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set, and this "
            "project checks access tokens (accounts.resource_server).",
            hint="Set RESOURCE_SERVER_AUDIENCE to the audience your API's tokens carry (default "
            "OIDC_AUDIENCE) and RESOURCE_SERVER_ISSUER to their issuer (default OIDC_ISSUER); "
            "see docs/configuration.md. Until then every token is refused with a 503.",
            id="accounts.E020",
        )
    ]


@register()
def check_resource_server_dpop(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The ``RESOURCE_SERVER_DPOP_*`` settings and the base URL proofs are checked against:
    unusable, every DPoP-bound token would be refused (503) at run time."""
    conf = resource_server_settings
    messages: list[CheckMessage] = []
    try:
        accepted_algorithms(conf.RESOURCE_SERVER_DPOP_ALGORITHMS)
        if not conf.RESOURCE_SERVER_DPOP_IAT_WINDOW > 0:
            raise ValueError("RESOURCE_SERVER_DPOP_IAT_WINDOW must be above 0")
    except (TypeError, ValueError) as exc:
        messages.append(
            Error(
                f"RESOURCE_SERVER_DPOP_ALGORITHMS or _IAT_WINDOW cannot check proofs: {exc}.",
                hint='Name asymmetric algorithms only (default ("RS256", "PS256", "ES256")) and '
                "a window in seconds (default 60).",
                id="accounts.E040",
            )
        )
    alias = conf.RESOURCE_SERVER_DPOP_REPLAY_CACHE
    if alias not in getattr(settings, "CACHES", {}):
        messages.append(
            Error(
                f"RESOURCE_SERVER_DPOP_REPLAY_CACHE names the cache {alias!r}, which CACHES lacks.",
                hint="Name a cache every process of the API shares (the Redis one, 'default').",
                id="accounts.E041",
            )
        )
    base = urlsplit(conf.RESOURCE_SERVER_BASE_URL)
    if conf.RESOURCE_SERVER_BASE_URL and (
        base.scheme not in ("http", "https") or not base.hostname or base.query or base.fragment
    ):
        messages.append(
            Error(
                f"RESOURCE_SERVER_BASE_URL {conf.RESOURCE_SERVER_BASE_URL!r} is not an absolute "
                "http(s) URL without query or fragment.",
                hint="Set it to your API's public URL as clients call it "
                "(https://api.example.com), or leave it empty to use each request's own.",
                id="accounts.E042",
            )
        )
    return messages


def _checks_access_tokens() -> bool:
    """Whether the project validates access tokens: it names the DRF class in its settings, sets
    a ``RESOURCE_SERVER_*`` setting, or routes to a view that checks tokens."""
    rest_framework = getattr(settings, "REST_FRAMEWORK", {}) or {}
    if _AUTHENTICATION_CLASSES & set(rest_framework.get("DEFAULT_AUTHENTICATION_CLASSES", ())):
        return True
    if any(name.startswith("RESOURCE_SERVER_") for name in dir(settings)):
        return True
    try:
        patterns = list(_views(get_resolver().url_patterns))
    except Exception:  # a broken URLconf is reported by Django's own URL checks
        return False
    return any(_checks_tokens(view) for view in patterns)


def _views(patterns: Sequence[URLPattern | URLResolver]) -> Iterator[Any]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        else:
            yield pattern.callback


def _checks_tokens(view: Any) -> bool:
    if getattr(view, "checks_access_tokens", False):  # require_access_token
        return True
    view_class = getattr(view, "cls", None)  # a DRF APIView's as_view()
    classes = getattr(view_class, "authentication_classes", ())
    return any(
        f"{base.__module__}.{base.__qualname__}" in _AUTHENTICATION_CLASSES
        for cls in classes
        for base in getattr(cls, "__mro__", ())
    )
