"""An ASGI scope seen as the request the proxy's rules expect: Django's request API over the
scope (``get_host()``, ``scheme``), its headers as pairs and joined, and what the async edge
needs of it. Shared by the HTTP and WebSocket shells; reads nothing from the connection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest

from accounts.api import EdgeRequest

# Headers the site adds to every answer (security headers), given the request.
SiteHeaders = Callable[[HttpRequest], Mapping[str, str]]


class ScopeRequest(HttpRequest):
    """Django's request API over an ASGI scope, without reading anything: ``get_host()``
    (checked against ``ALLOWED_HOSTS``) and ``scheme`` (``SECURE_PROXY_SSL_HEADER``) are
    Django's own rules."""

    def __init__(self, scope: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        super().__init__()
        self.method = scope.get("method", "GET")
        self.path = self.path_info = scope["path"]
        server = scope.get("server") or ("localhost", 80)
        meta: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
            "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
            "SERVER_NAME": str(server[0]),
            "SERVER_PORT": str(server[1] or 0),
            "wsgi.url_scheme": scope.get("scheme", "http"),
        }
        for name, value in headers.items():
            meta["HTTP_" + name.upper().replace("-", "_")] = value
        self.META = meta

    def _get_scheme(self) -> str:
        return str(self.META["wsgi.url_scheme"])


def header_pairs(scope: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]


def joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated headers joined with ", ", as a WSGI environ holds them."""
    found: dict[str, str] = {}
    for name, value in pairs:
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def edge_request(
    request: ScopeRequest, headers: Mapping[str, str], cookie: str | None
) -> EdgeRequest:
    return EdgeRequest(
        method=request.method or "GET",
        path=request.path,
        query_string=request.META["QUERY_STRING"],
        headers=headers,
        client=request.META["REMOTE_ADDR"],
        scheme=request.scheme or "http",
        session_cookie=cookie,
    )
