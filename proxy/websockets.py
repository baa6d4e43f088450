"""``ws(s)://<site>/api/proxy/<upstream>/<path>``: the browser's WebSocket relayed to the
upstream's, with the user's token added on the upstream handshake.

The handshake is checked before any token is read: the upstream must be known (404) and opt in
(``"websocket": true``, else 403), the ``Origin`` must be this site's (403: a browser cannot add
the anti-forgery header to a WebSocket), the host, path and query pass the HTTP rules. Then the
token (401 ``login_required`` when nobody is logged in), then the upstream's handshake, and only
then the browser's ``accept``: a refused upstream is a refused handshake, never an open socket
that closes at once. Refusals are JSON answers with their status when the server offers the
ASGI ``websocket.http.response`` extension (uvicorn does); otherwise a close before the accept,
which browsers see as a failed handshake (403).

Relaying holds one message per direction: the next is not read until the last was written, so
a slow side slows the other down instead of filling memory, and ``max_message_bytes`` bounds
the message held. The session's end closes the socket with 4401 (``proxy.websocket_steps``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import aiohttp
from django.core.exceptions import DisallowedHost
from yarl import URL

from accounts.api import AccountsError, EdgeError, watch_session_end
from proxy.asgi_http import asgi_headers, upstream_token
from proxy.asgi_scope import ScopeRequest, SiteHeaders, edge_request, header_pairs, joined
from proxy.async_forwarding import client_session
from proxy.conf import proxy_settings
from proxy.exceptions import InvalidHost, ProxyError, UpstreamTimeout, UpstreamUnavailable
from proxy.headers import websocket_request_headers, websocket_subprotocols
from proxy.metrics import count_call
from proxy.paths import raw_request_path
from proxy.responses import error_payload
from proxy.retries import Attempt, Retry, first_attempt, next_attempt, proof_for, retry_headers
from proxy.steps import forwarded_target, route_prefix
from proxy.upstreams import Upstream, get_upstream
from proxy.websocket_steps import (
    BAD_GATEWAY,
    MESSAGE_TOO_BIG,
    SESSION_ENDED,
    check_origin,
    check_websocket,
    relayed_close_code,
    upstream_url,
)

logger = logging.getLogger(__name__)

# Seconds the upstream has to answer our close frame before its connection is dropped.
CLOSE_TIMEOUT = 5.0
# Seconds the upstream handshake may take once connected, when the upstream sets no read timeout.
HANDSHAKE_TIMEOUT = 30.0


class UpstreamRefused(ProxyError):
    """The upstream answered the WebSocket handshake with something other than 101."""

    status = 502
    code = "upstream_refused_websocket"
    title = "The upstream refused the WebSocket"


async def proxy_websocket(
    scope: Mapping[str, Any],
    receive: Any,
    send: Any,
    *,
    name: str,
    forwarded_path: str,
    session_cookie: str | None,
    site_headers: SiteHeaders,
) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    pairs = header_pairs(scope)
    headers = joined(pairs)
    request = ScopeRequest(scope, headers)
    request.method = "GET"
    cookies: list[str] = []
    try:
        upstream = get_upstream(name)
        check_websocket(upstream)
        check_origin(headers.get("origin"), proxy_settings.SITE_URL)
        try:
            host = request.get_host()
        except DisallowedHost as exc:
            raise InvalidHost() from exc
        prefix = route_prefix(request.path, forwarded_path)
        raw = scope.get("raw_path")
        raw_path = raw_request_path({"RAW_URI": raw.decode("latin-1") if raw else ""}, request.path)
        target = forwarded_target(upstream, raw_path, prefix, request.META["QUERY_STRING"])
        async with watch_session_end(session_cookie) as ended:
            edge = edge_request(request, headers, session_cookie)
            bearer = await upstream_token(edge, upstream, cookies, force=False)
            attempt = first_attempt(upstream, bearer)
            outgoing = websocket_request_headers(
                pairs,
                client=request.META["REMOTE_ADDR"],
                csrf_header=proxy_settings.PROXY_CSRF_HEADER,
                bearer_token=bearer,
                forwarded_host=host,
                forwarded_proto=request.scheme or "http",
                # The handshake is a GET of the socket's URL in its http(s) form: that is what
                # a DPoP proof of it names (RFC 9449 names no ws:// URLs).
                dpop_proof=proof_for(upstream, "GET", target, attempt),
            )
            protocols = websocket_subprotocols(pairs)
            while True:
                try:
                    ws = await _connect(upstream, target, outgoing, protocols)
                    break
                except aiohttp.WSServerHandshakeError as refused:
                    retry = _retry(upstream, refused, attempt)
                if retry.renew_token:
                    bearer = await upstream_token(
                        edge, upstream, cookies, force=True, requirement=retry.requirement
                    )
                else:
                    logger.info("%s asked for a new DPoP nonce; shaking hands again", name)
                attempt = attempt.after(retry, bearer)
                outgoing.update(retry_headers(upstream, "GET", target, attempt))
            count_call(name, 101)
            await send(
                {
                    "type": "websocket.accept",
                    "subprotocol": ws.protocol,
                    "headers": [(b"set-cookie", c.encode("latin-1")) for c in cookies],
                }
            )
            await _relay(receive, send, ws, upstream, ended)
    except (ProxyError, AccountsError, EdgeError) as error:
        if isinstance(error, EdgeError):
            cookies, error = error.set_cookies, error.error
        status, extra, body = error_payload(error, method="GET", path=request.path)
        count_call(name, status)
        await _refuse(scope, send, status, extra, cookies, site_headers(request), body)


def _retry(upstream: Upstream, refused: aiohttp.WSServerHandshakeError, attempt: Attempt) -> Retry:
    """The retry after a refused handshake (``proxy.retries``), or ``UpstreamRefused``."""
    headers = refused.headers
    retry = next_attempt(
        upstream,
        refused.status,
        headers.getall("WWW-Authenticate", []) if headers else [],
        headers.get("DPoP-Nonce") if headers else None,
        attempt=attempt,
        replayable=True,
    )
    if retry is None:
        raise UpstreamRefused(
            f"{upstream.name} answered the WebSocket handshake with {refused.status}."
        ) from refused
    return retry


async def _connect(
    upstream: Upstream, target: str, headers: dict[str, str], protocols: list[str]
) -> aiohttp.ClientWebSocketResponse:
    limit = upstream.connect_timeout + (upstream.read_timeout or HANDSHAKE_TIMEOUT)
    try:
        async with asyncio.timeout(limit):
            return await client_session().ws_connect(
                URL(upstream_url(upstream, target), encoded=True),
                protocols=protocols,
                headers=headers,
                # The proxy answers the upstream's close itself, with the browser's code.
                autoclose=False,
                autoping=True,
                max_msg_size=upstream.max_message_bytes,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
            )
    except TimeoutError as exc:
        raise UpstreamTimeout(f"{upstream.name} did not answer the WebSocket handshake.") from exc
    except aiohttp.WSServerHandshakeError:
        raise
    except (aiohttp.ClientError, OSError) as exc:
        raise UpstreamUnavailable(f"{upstream.name} could not be reached.") from exc


async def _refuse(
    scope: Mapping[str, Any],
    send: Any,
    status: int,
    headers: Mapping[str, str],
    cookies: list[str],
    site: Mapping[str, str],
    body: bytes,
) -> None:
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        # A close before the accept: the browser sees the handshake fail (an HTTP 403).
        await send({"type": "websocket.close", "code": 1008})
        return
    out = asgi_headers(headers, cookies, site)
    await send({"type": "websocket.http.response.start", "status": status, "headers": out})
    await send({"type": "websocket.http.response.body", "body": body})


class _Closed(Exception):
    """One side closed: ``code`` and ``reason`` are for the other side (None: it is gone)."""

    def __init__(self, *, to_browser: tuple[int, str] | None, to_upstream: int | None) -> None:
        self.to_browser = to_browser
        self.to_upstream = to_upstream


async def _relay(
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
