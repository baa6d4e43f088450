"""``/api/proxy/<upstream>/<path>`` over ASGI: the async shell around the same steps as
``proxy.views`` (``proxy.steps``, ``paths``, ``bodies``, ``headers``, ``challenges``,
``step_up``, ``redirects``, ``responses``). An open stream or a slow client costs a coroutine,
not a thread; a call with no token renewal due costs one Redis round trip and no database query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from accounts.api import AccountsError, AuthenticationRequirement, EdgeError, watch_session_end
from proxy.asgi_scope import ScopeRequest, SiteHeaders, asgi_headers, upstream_token
from proxy.async_bodies import AsyncRequestBody
from proxy.async_forwarding import aread_some, aread_whole, aretry_for, asend
from proxy.bodies import plan_body
from proxy.conf import proxy_settings
from proxy.credentials import replace_credentials
from proxy.exceptions import ProxyError, UpstreamUnavailable
from proxy.headers import forwarded_request_headers
from proxy.metrics import UPSTREAM_SECONDS, count_call
from proxy.responses import error_payload
from proxy.retries import first_attempt
from proxy.steps import BrowserHead, browser_head, check_csrf_header, check_method
from proxy.upstreams import Upstream, get_upstream

logger = logging.getLogger(__name__)


async def proxy_http(
    scope: Mapping[str, Any],
    receive: Any,
    send: Any,
    *,
    name: str,
    forwarded_path: str,
    session_cookie: str | None,
    site_headers: SiteHeaders,
) -> None:
    request = ScopeRequest(scope)
    cookies: list[str] = []
    try:
        upstream = get_upstream(name)
        status = await _forward(
            receive,
            send,
            request,
            upstream,
            forwarded_path,
            session_cookie,
            cookies,
            site_headers,
        )
    except (ProxyError, AccountsError, EdgeError) as error:
        if isinstance(error, EdgeError):
            cookies, error = error.set_cookies, error.error
        status, extra, body = error_payload(error, method=request.method or "", path=request.path)
        await _start(send, status, extra, cookies, site_headers(request))
        await send({"type": "http.response.body", "body": body})
    count_call(name, status)


async def _forward(
    receive: Any,
    send: Any,
    request: ScopeRequest,
    upstream: Upstream,
    forwarded_path: str,
    session_cookie: str | None,
    cookies: list[str],
    site_headers: SiteHeaders,
) -> int:
    method = request.method or "GET"
    headers = request.joined_headers
    check_method(upstream, method)
    csrf_name = proxy_settings.PROXY_CSRF_HEADER
    check_csrf_header(headers.get(csrf_name.lower()), csrf_name)
    host, prefix, target = request.route(upstream, forwarded_path)
    plan = plan_body(
        headers.get("content-length"),
        headers.get("transfer-encoding"),
        limit=upstream.max_body_bytes,
        input_terminated=True,  # the server removes the chunked framing and ends the body
    )
    body = await AsyncRequestBody(
        receive,
        plan,
        limit=upstream.max_body_bytes,
        replay_limit=proxy_settings.PROXY_REPLAY_BODY_LIMIT,
    ).start()
    edge = request.edge_request(session_cookie)
    token = await upstream_token(edge, upstream, cookies, force=False)
    attempt = first_attempt(upstream, token)
    outgoing = forwarded_request_headers(
        request.header_pairs,
        client=request.META["REMOTE_ADDR"],
        csrf_header=csrf_name,
        credentials=attempt.headers(upstream, method, target),
        forwarded_host=host,
        forwarded_proto=request.scheme or "http",
    )

    async def check_login(required: AuthenticationRequirement) -> None:
        # The token getter's own check: a login short of ``required`` steps up.
        await upstream_token(edge, upstream, cookies, force=False, requirement=required)

    response = await _send(upstream, method, target, outgoing, body)
    while retry := await aretry_for(response, upstream, attempt, body.replayable, check_login):
        if retry.renew_token:
            logger.info("%s answered 401; renewing the access token once", upstream.name)
            token = await upstream_token(
                edge, upstream, cookies, force=True, requirement=retry.requirement
            )
        else:
            logger.info("%s asked for a new DPoP nonce; sending once more", upstream.name)
        attempt = attempt.after(retry, token)
        replace_credentials(outgoing, attempt.headers(upstream, method, target))
        response = await _send(upstream, method, target, outgoing, body)
    head = browser_head(
        response.status,
        [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
        method=method,
        upstream=upstream,
        target=target,
        proxy_base=prefix,
        forward_set_cookie=proxy_settings.PROXY_FORWARD_SET_COOKIE,
        chunk_size=proxy_settings.PROXY_CHUNK_SIZE,
    )
    await _answer(
        send, receive, response, head, upstream, cookies, site_headers(request), session_cookie
    )
    return head.status


async def _send(
    upstream: Upstream,
    method: str,
    target: str,
    headers: dict[str, str],
    body: AsyncRequestBody,
) -> aiohttp.ClientResponse:
    length = body.content_length
    if length is not None and not body.empty:
        headers["Content-Length"] = str(length)
    with UPSTREAM_SECONDS.labels(upstream=upstream.name).time():
        try:
            return await asend(upstream, method, target, headers, body.body())
        except UpstreamUnavailable:
            # The browser's body failed while it streamed: that is the error to report.
            if body.failure is not None:
                raise body.failure from None
            raise


async def _start(
    send: Any,
    status: int,
    headers: Mapping[str, str],
    cookies: list[str],
    site: Mapping[str, str],
) -> None:
    out = asgi_headers(headers, cookies, site)
    await send({"type": "http.response.start", "status": status, "headers": out})


async def _answer(
    send: Any,
    receive: Any,
    response: aiohttp.ClientResponse,
    head: BrowserHead,
    upstream: Upstream,
    session_cookies: list[str],
    site: Mapping[str, str],
    session_cookie: str | None,
) -> None:
    headers = dict(head.headers)
    cookies = [*session_cookies, *head.cookies]
    if head.read_whole:
        data = await aread_whole(response, upstream=upstream.name) if head.has_body else b""
        if not head.has_body:
            response.release()
        await _start(send, head.status, headers, cookies, site)
        await send({"type": "http.response.body", "body": data})
        return
    await _start(send, head.status, headers, cookies, site)
    # A stream (an event stream, a long download) ends when the session does. Watched from
    # here, after the token was read: an end in between is caught by the watch's sweep.
    async with watch_session_end(session_cookie) as ended:
        pump = asyncio.ensure_future(_pump(send, response, upstream.name))
        gone = asyncio.ensure_future(_disconnected(receive))
        end = asyncio.ensure_future(ended.wait())
        try:
            await asyncio.wait({pump, gone, end}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not pump.done():
                # The browser left, or the session ended: let go of the upstream rather than
                # read on for nobody.
                pump.cancel()
            gone.cancel()
            end.cancel()
            if not response.closed:
                response.close()
    if ended.is_set() and not pump.done():
        logger.info("ending a stream from %s: its session ended", upstream.name)
        # A complete (if early) end, so the page's reader sees the stream finish.
        await send({"type": "http.response.body", "body": b""})
        return
    if pump.done() and not pump.cancelled() and pump.exception() is not None:
        # Raising (rather than ending quietly) makes the server cut the connection, so the
        # browser sees a truncated body instead of a complete-looking one.
        raise pump.exception()  # type: ignore[misc]


async def _pump(send: Any, response: aiohttp.ClientResponse, upstream: str) -> None:
    chunk_size = proxy_settings.PROXY_CHUNK_SIZE
    while data := await aread_some(response, chunk_size, upstream=upstream):
        await send({"type": "http.response.body", "body": data, "more_body": True})
    response.release()
    await send({"type": "http.response.body", "body": b""})


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
