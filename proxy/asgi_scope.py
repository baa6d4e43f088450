"""An ASGI scope seen as the request the proxy's rules expect: Django's request API over the
scope (``get_host()``, ``scheme``), its headers as pairs and joined, where the call goes
(``route``), what the async edge needs of it, the user's token for it (``upstream_token``), and
the headers of an answer to it. Shared by the HTTP and WebSocket shells; reads nothing from the
connection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

from accounts.api import (
    AccessCredential,
    AuthenticationRequirement,
    EdgeRequest,
    aget_edge_token,
)
from proxy.exceptions import InvalidHost
from proxy.paths import raw_request_path
from proxy.steps import forwarded_target, route_prefix, wants_token
from proxy.upstreams import Upstream

# Headers the site adds to every answer (security headers), given the request.
SiteHeaders = Callable[[HttpRequest], Mapping[str, str]]


class Route(NamedTuple):
    host: str  # the request's host, allowed by ALLOWED_HOSTS
    prefix: str  # /api/proxy/<upstream>
    target: str  # path and query upstream, checked


class ScopeRequest(HttpRequest):
    """Django's request API over an ASGI scope, without reading anything: ``get_host()``
    (checked against ``ALLOWED_HOSTS``) and ``scheme`` (``SECURE_PROXY_SSL_HEADER``) are
    Django's own rules. ``header_pairs`` are the scope's headers (names in lower case, repeats
    kept), ``joined_headers`` the same joined as a WSGI environ holds them."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        super().__init__()
        self.header_pairs = [
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
        ]
        self.joined_headers = joined(self.header_pairs)
        self.method = scope.get("method", "GET")
        self.path = self.path_info = scope["path"]
        raw = scope.get("raw_path")
        self._raw_uri = raw.decode("latin-1") if raw else ""
        server = scope.get("server") or ("localhost", 80)
        meta: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
            "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
            "SERVER_NAME": str(server[0]),
            "SERVER_PORT": str(server[1] or 0),
            "wsgi.url_scheme": scope.get("scheme", "http"),
        }
        for name, value in self.joined_headers.items():
            meta["HTTP_" + name.upper().replace("-", "_")] = value
        self.META = meta

    def _get_scheme(self) -> str:
        return str(self.META["wsgi.url_scheme"])

    def route(self, upstream: Upstream, forwarded_path: str) -> Route:
        """Where the call goes, once its host, path and query pass the HTTP rules."""
        try:
            host = self.get_host()
        except DisallowedHost as exc:
            raise InvalidHost() from exc
        prefix = route_prefix(self.path, forwarded_path)
        raw_path = raw_request_path({"RAW_URI": self._raw_uri}, self.path)
        target = forwarded_target(upstream, raw_path, prefix, self.META["QUERY_STRING"])
        return Route(host, prefix, target)

    def edge_request(self, session_cookie: str | None) -> EdgeRequest:
        return EdgeRequest(
            method=self.method or "GET",
            path=self.path,
            query_string=self.META["QUERY_STRING"],
            headers=self.joined_headers,
            client=self.META["REMOTE_ADDR"],
            scheme=self.scheme or "http",
            session_cookie=session_cookie,
        )


def joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated headers joined with ", ", as a WSGI environ holds them."""
    found: dict[str, str] = {}
    for name, value in pairs:
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


async def upstream_token(
    edge: EdgeRequest,
    upstream: Upstream,
    cookies: list[str],
    *,
    force: bool,
    requirement: AuthenticationRequirement | None = None,
) -> AccessCredential | None:
    """The token the call carries, with its type (None: it goes without one), from a login
    that meets ``requirement`` (an upstream's step-up challenge; nobody logged in then needs a
    login too) or else the upstream's own; the session's ``Set-Cookie`` values are added to
    ``cookies``."""
    if not wants_token(upstream, authenticated=True):
        return None
    got = await aget_edge_token(
        edge,
        audience=upstream.audience,
        scope=upstream.scope,
        optional=upstream.auth == "optional" and requirement is None,
        force=force,
        requirement=upstream.requirement if requirement is None else requirement,
    )
    cookies.extend(got.set_cookies)
    return got.credential


def asgi_headers(
    headers: Mapping[str, str], cookies: list[str], site: Mapping[str, str]
) -> list[tuple[bytes, bytes]]:
    """An answer's headers, the site's added where the answer has none of its own."""
    out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    present = {k for k, _ in out}
    out += [
        (k.lower().encode(), v.encode())
        for k, v in site.items()
        if k.lower().encode() not in present
    ]
    out += [(b"set-cookie", c.encode("latin-1")) for c in cookies]
    return out
