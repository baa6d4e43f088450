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
from django.core.exceptions import DisallowedHost

from accounts.api import (
    AccountsError,
    AuthenticationRequirement,
    EdgeError,
    EdgeRequest,
    aget_edge_token,
    watch_session_end,
)
from proxy.asgi_scope import ScopeRequest, SiteHeaders, edge_request, header_pairs, joined
from proxy.async_bodies import AsyncRequestBody
from proxy.async_forwarding import adiscard, aread_some, aread_whole, aretry_for, asend
from proxy.bodies import plan_body
from proxy.conf import proxy_settings
from proxy.exceptions import InvalidHost, ProxyError, UpstreamUnavailable
from proxy.headers import forwarded_request_headers
from proxy.metrics import UPSTREAM_SECONDS, count_call
from proxy.paths import raw_request_path
from proxy.responses import error_payload
from proxy.retries import first_attempt, proof_for, retry_headers
from proxy.step_up import challenged_requirement, unmet
from proxy.steps import (
    BrowserHead,
    browser_head,
    check_csrf_header,
    check_method,
    forwarded_target,
    route_prefix,
    wants_token,
)
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
    pairs = header_pairs(scope)
    headers = joined(pairs)
    request = ScopeRequest(scope, headers)
    cookies: list[str] = []
    try:
        upstream = get_upstream(name)
        status = await _forward(
            scope,
            receive,
            send,
            request,
            upstream,
            forwarded_path,
            pairs,
            headers,
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
    scope: Mapping[str, Any],
    receive: Any,
    send: Any,
    request: ScopeRequest,
    upstream: Upstream,
    forwarded_path: str,
    pairs: list[tuple[str, str]],
    headers: dict[str, str],
    session_cookie: str | None,
    cookies: list[str],
    site_headers: SiteHeaders,
) -> int:
    method = request.method or "GET"
    check_method(upstream, method)
    csrf_name = proxy_settings.PROXY_CSRF_HEADER
    check_csrf_header(headers.get(csrf_name.lower()), csrf_name)
    try:
        host = request.get_host()
    except DisallowedHost as exc:
        raise InvalidHost() from exc
    prefix = route_prefix(request.path, forwarded_path)
    raw = scope.get("raw_path")
    raw_path = raw_request_path({"RAW_URI": raw.decode("latin-1") if raw else ""}, request.path)
    target = forwarded_target(upstream, raw_path, prefix, request.META["QUERY_STRING"])
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
    edge = edge_request(request, headers, session_cookie)
    token = await upstream_token(edge, upstream, cookies, force=False)
    attempt = first_attempt(upstream, token)
    outgoing = forwarded_request_headers(
        pairs,
        client=request.META["REMOTE_ADDR"],
        csrf_header=csrf_name,
        bearer_token=token,
        forwarded_host=host,
        forwarded_proto=request.scheme or "http",
        dpop_proof=proof_for(upstream, method, target, attempt),
    )
    response = await _send(upstream, method, target, outgoing, body)
    while (retry := await aretry_for(response, upstream, attempt, body.replayable)) is not None:
        if retry.renew_token:
            logger.info("%s answered 401; renewing the access token once", upstream.name)
            token = await upstream_token(
                edge, upstream, cookies, force=True, requirement=retry.requirement
            )
        else:
            logger.info("%s asked for a new DPoP nonce; sending once more", upstream.name)
        attempt = attempt.after(retry, token)
        outgoing.update(retry_headers(upstream, method, target, attempt))
        response = await _send(upstream, method, target, outgoing, body)
    challenges = response.headers.getall("WWW-Authenticate", [])
    if (required := challenged_requirement(upstream, response.status, challenges)) is not None:
        # As proxy.views: a login short of it steps up; one that meets it cannot do more.
        await adiscard(response, keep_up_to=proxy_settings.PROXY_CHUNK_SIZE)
        await upstream_token(edge, upstream, cookies, force=False, requirement=required)
        raise unmet(upstream)
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


async def upstream_token(
    edge: EdgeRequest,
    upstream: Upstream,
    cookies: list[str],
    *,
    force: bool,
    requirement: AuthenticationRequirement | None = None,
) -> str | None:
    """The token for ``upstream``, from a login that meets ``requirement`` (an upstream's
    step-up challenge; nobody logged in then needs a login too) or else the upstream's own."""
    if not wants_token(upstream, authenticated=True):
        return None
    got = await aget_edge_token(
        edge,
        audience=upstream.audience,
        scope=upstream.scope,
        optional=upstream.auth == "optional" and requirement is None,
        force=force,
        requirement=upstream.requirement if requirement is None else requirement,
    )
    cookies.extend(got.set_cookies)
    return got.token


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


def asgi_headers(
    headers: Mapping[str, str], cookies: list[str], site: Mapping[str, str]
) -> list[tuple[bytes, bytes]]:
    """An answer's headers, the site's added where the answer has none of its own."""
    out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    present = {k for k, _ in out}
    out += [
        (k.lower().encode(), v.encode())
        for k, v in site.items()
        if k.lower().encode() not in present
    ]
    out += [(b"set-cookie", c.encode("latin-1")) for c in cookies]
    return out


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
