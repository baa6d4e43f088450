"""WebSockets through the proxy (not yet): every handshake is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


async def proxy_websocket(
    scope: Mapping[str, Any],
    receive: Any,
    send: Any,
    *,
    name: str,
    forwarded_path: str,
    session_cookie: str | None,
) -> None:
    await receive()  # websocket.connect
    # A close before the accept is a 403 to the browser (ASGI spec).
    await send({"type": "websocket.close", "code": 1008})
