"""The proxy's settings, read on every access so ``override_settings`` works in tests.

Every default is written here once. Code never writes to ``django.conf.settings``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


class ProxySettings:
    @property
    def PROXY_UPSTREAMS(self) -> Any:
        """Name → upstream definition; parsed and validated by ``proxy.upstreams``."""
        return getattr(settings, "PROXY_UPSTREAMS", {})

    @property
    def PROXY_CSRF_HEADER(self) -> str:
        """The custom header every proxied request must carry (IETF browser-apps draft §6.1.3.3).

        A cross-site page can only add a non-safelisted header through ``fetch`` with CORS, and
        the preflight fails because this site answers none, so a form post or an ``<img>`` from
        another site never reaches an upstream with the user's token.
        """
        return str(getattr(settings, "PROXY_CSRF_HEADER", "X-CSRF"))

    @property
    def PROXY_FORWARD_SET_COOKIE(self) -> bool:
        """Off by default: an upstream's cookie would land on this site's origin, beside the
        session cookie, and the proxy never forwards cookies upstream anyway."""
        return bool(getattr(settings, "PROXY_FORWARD_SET_COOKIE", False))

    @property
    def PROXY_CHUNK_SIZE(self) -> int:
        """Bytes read per step from the browser and from the upstream. 64 KiB keeps the number
        of system calls low on big bodies while a worker thread holds little memory."""
        return int(getattr(settings, "PROXY_CHUNK_SIZE", 64 * 1024))

    @property
    def PROXY_REPLAY_BODY_LIMIT(self) -> int:
        """Request bodies up to this size are read into memory before they are sent, so that
        the request can be replayed once after an upstream 401 and a forced token renewal.
        Larger bodies are streamed and never replayed."""
        return int(getattr(settings, "PROXY_REPLAY_BODY_LIMIT", 64 * 1024))

    @property
    def PROXY_POOL_MAXSIZE(self) -> int:
        """Kept-alive connections per upstream host and process. Match the worker's threads:
        more are never used at once, fewer means reconnecting under load."""
        return int(getattr(settings, "PROXY_POOL_MAXSIZE", 16))

    @property
    def SITE_URL(self) -> str:
        """The site's public URL: a proxied WebSocket's ``Origin`` must be its origin."""
        return str(getattr(settings, "SITE_URL", "")).rstrip("/")


proxy_settings = ProxySettings()
