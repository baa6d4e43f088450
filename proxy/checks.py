"""System checks for the proxy. IDs are listed in docs/proxy.md; never reuse one."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Warning, register

from accounts.api import dpop_bound_tokens, dpop_keys_usable
from proxy.conf import proxy_settings
from proxy.upstreams import UpstreamConfigError, parse_upstream
from proxy.websocket_steps import site_origin

# Headers a cross-site page may send without a CORS preflight (Fetch standard, "CORS-safelisted
# request-header"): as the anti-forgery header they would defend against nothing.
CORS_SAFELISTED = frozenset(
    {"accept", "accept-language", "content-language", "content-type", "range"}
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@register()
def check_upstreams(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    raw = proxy_settings.PROXY_UPSTREAMS
    if not isinstance(raw, dict):
        return [
            Error(
                "PROXY_UPSTREAMS is not a mapping of upstream name to URL or settings.",
                hint='Set it to e.g. {"notes": {"url": "https://api.example.com", '
                '"auth": "required"}}; see docs/proxy.md.',
                id="proxy.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for name, entry in raw.items():
        try:
            upstream = parse_upstream(name, entry)
        except UpstreamConfigError as exc:
            messages.append(
                Error(
                    f"PROXY_UPSTREAMS: {exc}.",
                    hint="See docs/proxy.md for the fields an upstream takes.",
                    id="proxy.E002",
                )
            )
            continue
        if upstream.scheme == "http" and upstream.auth != "none" and not _loopback(upstream.host):
            messages.append(
                Warning(
                    f"PROXY_UPSTREAMS: upstream {name!r} gets the user's access token over "
                    "plain http.",
                    hint="Use https for any upstream beyond this machine, or auth 'none'.",
                    id="proxy.W001",
                )
            )
        if upstream.dpop:
            messages += _dpop_messages(name)
        if upstream.websocket and not site_origin(proxy_settings.SITE_URL):
            messages.append(
                Warning(
                    f"PROXY_UPSTREAMS: upstream {name!r} accepts WebSockets, but SITE_URL is not "
                    "an http(s) URL, so no handshake's Origin can match and every one is refused.",
                    hint="Set SITE_URL to the site's public URL (https://app.example.com).",
                    id="proxy.W003",
                )
            )
    return messages


@register()
def check_csrf_header(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    name = proxy_settings.PROXY_CSRF_HEADER
    if not _TOKEN.fullmatch(name) or name.lower() in CORS_SAFELISTED or "_" in name:
        return [
            Error(
                f"PROXY_CSRF_HEADER {name!r} cannot defend the proxy against cross-site requests.",
                hint="Use a custom header name of letters, digits and '-' that is not "
                "CORS-safelisted, such as the default 'X-CSRF'.",
                id="proxy.E003",
            )
        ]
    return []


@register()
def check_set_cookie(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if proxy_settings.PROXY_FORWARD_SET_COOKIE:
        return [
            Warning(
                "PROXY_FORWARD_SET_COOKIE is on: upstreams can set cookies on this site's origin.",
                hint="Leave it off unless an upstream truly needs browser cookies; they would sit "
                "beside the session cookie and could shadow it.",
                id="proxy.W002",
            )
        ]
    return []


def _dpop_messages(name: str) -> list[CheckMessage]:
    if not dpop_keys_usable():
        return [
            Error(
                f"PROXY_UPSTREAMS: upstream {name!r} takes DPoP-bound tokens, but "
                "OIDC_DPOP_KEYS holds no usable key to sign its proofs.",
                hint="Set OIDC_DPOP_KEYS to a PEM private key for OIDC_DPOP_ALGORITHM (ES256: "
                "a P-256 key) and OIDC_USE_DPOP=1; see docs/configuration.md.",
                id="proxy.E008",
            )
        ]
    if not dpop_bound_tokens():
        return [
            Warning(
                f"PROXY_UPSTREAMS: upstream {name!r} takes DPoP-bound tokens only, but "
                "OIDC_USE_DPOP is off: this site's tokens are bearer tokens, bound to no key, so "
                "the proxy sends none there and answers a logged-in user's calls with 503 "
                "dpop_unavailable.",
                hint="Set OIDC_USE_DPOP=1 so that logins and refreshes bind tokens to "
                'OIDC_DPOP_KEYS, or remove "dpop": true if the upstream takes bearer tokens.',
                id="proxy.W008",
            )
        ]
    return []


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
