"""The proxy's ASGI edge: ``/api/proxy/`` served natively, everything else by ``pages``.

``ProxyEdge(pages)`` is an ASGI application. HTTP calls under ``/api/proxy/<upstream>/`` go to
``proxy.asgi_http`` (and WebSocket handshakes there to ``proxy.websockets``); every other request,
and every path the proxy's route does not match, goes to ``pages``: the site's Django
application, which the project wraps for ASGI (``config/asgi.py`` runs its WSGI handler in a
thread pool). The route is ``proxy.urls``' pattern, so both agree on what is the proxy's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from proxy.asgi_http import proxy_http
from proxy.asgi_scope import SiteHeaders

logger = logging.getLogger(__name__)

ROUTE = re.compile(r"^/api/proxy/(?P<upstream>[^/]+)(?P<path>/.*)?$")


def _no_site_headers(request: HttpRequest) -> Mapping[str, str]:
    return {}


class ProxyEdge:
    def __init__(self, pages: Any, *, site_headers: SiteHeaders = _no_site_headers) -> None:
        self.pages = pages
        self.site_headers = site_headers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        match = ROUTE.match(scope["path"]) if kind in {"http", "websocket"} else None
        if match is None:
            await self.pages(scope, receive, send)
            return
        cookie = session_cookie(scope)
        if kind == "http":
            await proxy_http(
                scope,
                receive,
                send,
                name=match["upstream"],
                forwarded_path=match["path"] or "",
                session_cookie=cookie,
                site_headers=self.site_headers,
            )
            return
        from proxy.websockets import proxy_websocket

        await proxy_websocket(
            scope,
            receive,
            send,
            name=match["upstream"],
            forwarded_path=match["path"] or "",
            session_cookie=cookie,
            site_headers=self.site_headers,
        )

    async def _lifespan(self, receive: Any, send: Any) -> None:
        from accounts.api import aclose_edge
        from proxy.async_forwarding import aclose_sessions

        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await aclose_sessions()
                    await aclose_edge()
                except Exception:  # shutting down: log, never hang the worker's exit
                    logger.exception("closing the proxy's connections failed")
                await send({"type": "lifespan.shutdown.complete"})
                return


def session_cookie(scope: Mapping[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            found = parse_cookie(value.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)
            if found:
                return found
    return None
