"""This site's Content-Security-Policy: a nonce per request, and the header on every page.

Django 6 brings ``ContentSecurityPolicyMiddleware``; 5.2 LTS has none, and the site runs on both,
so it has this one. It lives in the project, not in an app: the policy is this site's, while the
apps' own templates carry no inline script or style and so work under any policy, this one or a
host project's.

Templates mark their inline ``<script>`` and ``<style>`` with ``nonce="{{ csp_nonce }}"`` (the
name Django 6's own context processor uses). The nonce is made on first use: a page that uses
none gets a policy without one, and a response that is no page (the proxy's) never pays for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from config.conf import site_settings

HEADER = "Content-Security-Policy"

# Where a source list takes this response's nonce; dropped when the page used no nonce.
NONCE = "'nonce'"

BASE_POLICY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "default-src": ("'self'",),
        "script-src": ("'self'", NONCE),
        "style-src": ("'self'", NONCE),
        # data: for the small images stylesheets embed (icons), which carry no script.
        "img-src": ("'self'", "data:"),
        "object-src": ("'none'",),
        # A <base> injected into a page would re-point every relative script URL elsewhere.
        "base-uri": ("'none'",),
        "frame-ancestors": ("'none'",),
        # No form-action: Chromium applies it to the redirects that follow a form's POST as well,
        # and the logout form's redirect goes to the provider's end-session endpoint, whose
        # origin is known only from discovery (Cognito's is not even the issuer's). A policy
        # built from a cached document would block logout in a process that has not fetched it
        # yet. A site that knows its provider's origins adds form-action in CSP_EXTRA_SOURCES.
    }
)


class Nonce:
    """One request's nonce, made when a template first renders it."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            # 128 bits, the least CSP Level 3 asks of a nonce.
            self._value = secrets.token_urlsafe(16)
        return self._value

    @property
    def used(self) -> str | None:
        """The value if a template rendered it, else None."""
        return self._value


def directives(extra: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The base policy with ``extra``'s sources added; a directive it names anew is added."""
    merged = {name: list(sources) for name, sources in BASE_POLICY.items()}
    for name, sources in extra.items():
        current = merged.setdefault(name.lower(), [])
        if current == ["'none'"] and sources:
            # Beside other sources 'none' means nothing; browsers warn about the mix.
            current.clear()
        current.extend(source for source in sources if source not in current)
    return merged


def header_value(policy: Mapping[str, Sequence[str]], nonce: str | None) -> str:
    parts = []
    for name, sources in policy.items():
        values = [
            f"'nonce-{nonce}'" if source == NONCE else source
            for source in sources
            if source != NONCE or nonce
        ]
        parts.append(" ".join([name, *values]))
    return "; ".join(parts)


def needs_policy(response: HttpResponseBase) -> bool:
    """Pages only. A streamed body may render the nonce after the headers have gone, and a
    header a view set itself is left alone."""
    if response.streaming or HEADER in response:
        return False
    return str(response.get("Content-Type", "")).startswith("text/html")


def nonce_of(request: HttpRequest) -> Nonce | None:
    nonce = getattr(request, "csp_nonce", None)
    return nonce if isinstance(nonce, Nonce) else None


def nonce_context(request: HttpRequest) -> dict[str, object]:
    """Context processor: ``csp_nonce`` for templates ("" without the middleware)."""
    return {"csp_nonce": nonce_of(request) or ""}


class ContentSecurityPolicyMiddleware:
    """Gives each request a nonce and each page the policy. Goes right after
    SecurityMiddleware, so error pages made further in get it too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        nonce = Nonce()
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if needs_policy(response):
            policy = directives(site_settings.CSP_EXTRA_SOURCES)
            response[HEADER] = header_value(policy, nonce.used)
        return response
