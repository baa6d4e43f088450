"""``ws(s)://<site>/api/proxy/<upstream>/<path>``: the browser's WebSocket relayed to the
upstream's, with the user's token added on the upstream handshake.

The handshake is checked before any token is read: the upstream must be known (404) and opt in
(``"websocket": true``, else 403), the ``Origin`` must be this site's (403: a browser cannot add
the anti-forgery header to a WebSocket), the host, path and query pass the HTTP rules. Then the
token (401 ``login_required`` when nobody is logged in), then the upstream's handshake, and only
then the browser's ``accept``: a refused upstream is a refused handshake, never an open socket
that closes at once. Refusals are JSON answers with their status when the server offers the
ASGI ``websocket.http.response`` extension (uvicorn does); otherwise a close before the accept,
which browsers see as a failed handshake (403). A refused upstream handshake earns the retries
and the step-up answer an HTTP call would (``proxy.retries``).

Then ``proxy.websocket_relay`` relays messages both ways until one side closes or the session
ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from accounts.api import AccountsError, EdgeError, watch_session_end
from proxy.asgi_scope import ScopeRequest, SiteHeaders, asgi_headers, upstream_token
from proxy.async_forwarding import client_session
from proxy.conf import proxy_settings
from proxy.credentials import replace_credentials
from proxy.exceptions import ProxyError, UpstreamTimeout, UpstreamUnavailable
from proxy.headers import websocket_request_headers, websocket_subprotocols
from proxy.metrics import count_call
from proxy.responses import error_payload
from proxy.retries import Attempt, Retry, first_attempt, judge_answer
from proxy.upstreams import Upstream, get_upstream
from proxy.websocket_relay import relay
from proxy.websocket_steps import check_origin, check_websocket, upstream_url

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
    request = ScopeRequest(scope)
    request.method = "GET"
    cookies: list[str] = []
    try:
        upstream = get_upstream(name)
        check_websocket(upstream)
        check_origin(request.joined_headers.get("origin"), proxy_settings.SITE_URL)
        host, _, target = request.route(upstream, forwarded_path)
        async with watch_session_end(session_cookie) as ended:
            edge = request.edge_request(session_cookie)
            token = await upstream_token(edge, upstream, cookies, force=False)
            attempt = first_attempt(upstream, token)
            outgoing = websocket_request_headers(
                request.header_pairs,
                client=request.META["REMOTE_ADDR"],
                csrf_header=proxy_settings.PROXY_CSRF_HEADER,
                # The handshake is a GET of the socket's URL in its http(s) form: that is what
                # a DPoP proof of it names (RFC 9449 names no ws:// URLs).
                credentials=attempt.headers(upstream, "GET", target),
                forwarded_host=host,
                forwarded_proto=request.scheme or "http",
            )
            protocols = websocket_subprotocols(request.header_pairs)
            while True:
                try:
                    ws = await _connect(upstream, target, outgoing, protocols)
                    break
                except aiohttp.WSServerHandshakeError as refused:
                    retry = _retry(upstream, refused, attempt)
                if retry.renew_token:
                    token = await upstream_token(
                        edge, upstream, cookies, force=True, requirement=retry.requirement
                    )
                else:
                    logger.info("%s asked for a new DPoP nonce; shaking hands again", name)
                attempt = attempt.after(retry, token)
                replace_credentials(outgoing, attempt.headers(upstream, "GET", target))
            count_call(name, 101)
            await send(
                {
                    "type": "websocket.accept",
                    "subprotocol": ws.protocol,
                    "headers": [(b"set-cookie", c.encode("latin-1")) for c in cookies],
                }
            )
            await relay(receive, send, ws, upstream, ended)
    except (ProxyError, AccountsError, EdgeError) as error:
        if isinstance(error, EdgeError):
            cookies, error = error.set_cookies, error.error
        status, extra, body = error_payload(error, method="GET", path=request.path)
        count_call(name, status)
        await _refuse(scope, send, status, extra, cookies, site_headers(request), body)


def _retry(upstream: Upstream, refused: aiohttp.WSServerHandshakeError, attempt: Attempt) -> Retry:
    """The retry a refused handshake earns (``proxy.retries.judge_answer``); raises the proxy's
    error instead, or ``UpstreamRefused`` (502) for any other refusal. A handshake can always
    be sent again, so a step-up challenge earns a renewal (which steps up a login short of it),
    never a verdict that weighs the login first."""
    headers = refused.headers
    verdict = judge_answer(
        upstream,
        refused.status,
        headers.getall("WWW-Authenticate", []) if headers else [],
        headers.get("DPoP-Nonce") if headers else None,
        attempt=attempt,
        replayable=True,
    )
    retry = verdict.retry_or_raise()
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
