"""The Django site (pages, login, admin) inside the ASGI application: its WSGI handler runs in a
thread pool (a2wsgi), as under gunicorn's gthread worker, so a page costs what it cost there.

Two things differ from handing the WSGI app to a2wsgi as it is:

- The request body is read whole on the event loop before a thread is taken, as nginx's request
  buffering does: a client that announces a body and sends it slowly (or never) holds a waiting
  coroutine, not one of the few threads, and ``/healthz`` keeps answering. Pages take forms,
  not uploads: a body over ``PAGE_BODY_LIMIT`` gets 413.
- A WebSocket handshake outside the proxy is refused with 403.
"""

from __future__ import annotations

from typing import Any

from a2wsgi import WSGIMiddleware

# Forms and JSON: ten times Django's DATA_UPLOAD_MAX_MEMORY_SIZE leaves room for multipart
# overhead and small files, and still bounds what a connection can make a worker hold.
PAGE_BODY_LIMIT = 25 * 1024 * 1024


class ThreadedPages:
    def __init__(self, wsgi_app: Any, *, threads: int, body_limit: int = PAGE_BODY_LIMIT) -> None:
        self.wsgi = WSGIMiddleware(wsgi_app, workers=threads)
        self.body_limit = body_limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1008})  # 403 before the accept
            return
        if scope["type"] != "http":
            await self.wsgi(scope, receive, send)  # type: ignore[arg-type]
            return
        parts: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # gone before the body arrived: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                await _too_large(send)
                return
            parts.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(parts)
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k not in (b"content-length", b"transfer-encoding")
        ]
        if body or any(k == b"content-length" for k, _ in scope["headers"]):
            headers.append((b"content-length", str(len(body)).encode()))
        await self.wsgi({**scope, "headers": headers}, _replay(body), send)  # type: ignore[arg-type]


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _too_large(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b"Request body too large.\n"})
