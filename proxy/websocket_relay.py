"""Relaying a proxied WebSocket once both handshakes are done: messages both ways until one side
closes, the relay fails, or the session ends.

One message per direction is held: the next is not read until the last was written, so a slow
side slows the other down instead of filling memory, and ``max_message_bytes`` bounds the
message held. Each side's close goes on to the other with its code (``relayed_close_code``); the
session's end closes the browser's socket with 4401 (``proxy.websocket_steps``).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

import aiohttp

from proxy.upstreams import Upstream
from proxy.websocket_steps import BAD_GATEWAY, MESSAGE_TOO_BIG, SESSION_ENDED, relayed_close_code

logger = logging.getLogger(__name__)


class _Closed(Exception):
    """One side closed: ``code`` and ``reason`` are for the other side (None: it is gone)."""

    def __init__(self, *, to_browser: tuple[int, str] | None, to_upstream: int | None) -> None:
        self.to_browser = to_browser
        self.to_upstream = to_upstream


async def relay(
    receive: Any,
    send: Any,
    ws: aiohttp.ClientWebSocketResponse,
    upstream: Upstream,
    ended: asyncio.Event,
) -> None:
    tasks = {
        asyncio.ensure_future(_browser_to_upstream(receive, ws, upstream.max_message_bytes)),
        asyncio.ensure_future(_upstream_to_browser(ws, send)),
        asyncio.ensure_future(_session_end(ended)),
    }
    to_browser: tuple[int, str] | None = (1011, "")
    to_upstream: int | None = 1011
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if isinstance(error, _Closed):
                to_browser, to_upstream = error.to_browser, error.to_upstream
            elif error is not None:
                logger.warning("relaying %s's WebSocket failed: %r", upstream.name, error)
                to_browser, to_upstream = (BAD_GATEWAY, ""), 1011
            break
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        if to_browser is not None:
            with suppress(Exception):  # the browser may be gone already: nothing to tell
                await send(
                    {"type": "websocket.close", "code": to_browser[0], "reason": to_browser[1]}
                )
        if not ws.closed:
            with suppress(Exception):
                await ws.close(code=to_upstream if to_upstream is not None else 1000)


async def _browser_to_upstream(
    receive: Any, ws: aiohttp.ClientWebSocketResponse, limit: int
) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            raise _Closed(to_browser=None, to_upstream=relayed_close_code(message.get("code")))
        if message.get("bytes") is not None:
            data: bytes = message["bytes"]
            if len(data) > limit:
                raise _Closed(to_browser=(MESSAGE_TOO_BIG, ""), to_upstream=1000)
            await ws.send_bytes(data)
        elif message.get("text") is not None:
            text: str = message["text"]
            if len(text) > limit or len(text.encode()) > limit:
                raise _Closed(to_browser=(MESSAGE_TOO_BIG, ""), to_upstream=1000)
            await ws.send_str(text)


async def _upstream_to_browser(ws: aiohttp.ClientWebSocketResponse, send: Any) -> None:
    while True:
        message = await ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            await send({"type": "websocket.send", "text": message.data})
        elif message.type == aiohttp.WSMsgType.BINARY:
            await send({"type": "websocket.send", "bytes": message.data})
        elif message.type == aiohttp.WSMsgType.CLOSE:
            reason = message.extra if isinstance(message.extra, str) else ""
            # The upstream's close is answered (ws.close) in _relay; its code goes on as sent.
            raise _Closed(to_browser=(relayed_close_code(message.data), reason), to_upstream=1000)
        elif message.type == aiohttp.WSMsgType.ERROR:
            code = getattr(message.data, "code", None)
            if code == MESSAGE_TOO_BIG:
                raise _Closed(to_browser=(MESSAGE_TOO_BIG, ""), to_upstream=None)
            raise _Closed(to_browser=(BAD_GATEWAY, ""), to_upstream=None)
        else:  # CLOSING, CLOSED: the connection went without a close frame
            raise _Closed(to_browser=(BAD_GATEWAY, ""), to_upstream=None)


async def _session_end(ended: asyncio.Event) -> None:
    await ended.wait()
    raise _Closed(to_browser=(SESSION_ENDED, "session ended"), to_upstream=1000)
