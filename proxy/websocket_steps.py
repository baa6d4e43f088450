"""The steps of a proxied WebSocket, as pure functions: which upstreams take one, whose pages may
open one, where it goes, and which close code each side gets. ``proxy.websockets`` is the shell
that reads and writes; the path, query and header rules are the HTTP ones (``proxy.steps``,
``proxy.paths``, ``proxy.headers``).

Close codes the proxy itself sends (docs/proxy.md):

- ``4401`` the session ended (logout, revocation, lifetime, back-channel logout): log in again;
- ``1009`` a message was larger than the upstream's ``max_message_bytes``;
- ``1014`` the upstream could not be reached or went away without a close frame;
- ``1011`` the proxy failed (the token could not be had once the socket was open, say).

Every other code is the other side's, passed through.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from proxy.exceptions import ForeignOrigin, WebSocketNotAllowed
from proxy.upstreams import Upstream

SESSION_ENDED = 4401
MESSAGE_TOO_BIG = 1009
PROXY_FAILED = 1011
BAD_GATEWAY = 1014
NORMAL = 1000
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_websocket(upstream: Upstream) -> None:
    if not upstream.websocket:
        raise WebSocketNotAllowed(
            f'{upstream.name} does not accept WebSockets (no "websocket": true in its settings).'
        )


def site_origin(site_url: str) -> str:
    """The origin a browser sends for pages of ``site_url`` (RFC 6454 §6.2): lower-case scheme
    and host, the port only when it is not the scheme's default. "" when there is no site URL."""
    parts = urlsplit(site_url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    port = parts.port
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def check_origin(origin: str | None, site_url: str) -> None:
    """The handshake's ``Origin`` must be exactly this site's: a page elsewhere could otherwise
    open a socket that carries the user's cookie (cross-site WebSocket hijacking). A missing
    ``Origin`` is refused too: every browser sends one, and a non-browser client has no
    business using a browser's session."""
    expected = site_origin(site_url)
    if not origin or not expected or origin != expected:
        raise ForeignOrigin("WebSockets through the proxy open only from this site's pages.")


def upstream_url(upstream: Upstream, target: str) -> str:
    """``ws://`` or ``wss://`` for ``target`` (path and query, as ``forwarded_target`` gives)."""
    scheme = "wss" if upstream.scheme == "https" else "ws"
    return f"{scheme}://{upstream.netloc}{target}"


def relayed_close_code(code: int | None) -> int:
    """The code to send on for a close received from the other side. Codes that mean "no
    frame came" (1005, 1006, 1015) must never be sent (RFC 6455 §7.4.1), nor any outside the
    ranges a close frame may carry."""
    if code is None or code == 1005:
        return NORMAL
    if code in {1006, 1015}:
        return BAD_GATEWAY
    if 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999:
        return code
    return NORMAL
