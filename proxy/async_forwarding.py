"""Sending a request upstream from asyncio, and reading its answer: the async twin of
``proxy.forwarding``, with aiohttp as the client.

One ``aiohttp.ClientSession`` per event loop (one per worker process) keeps connections alive
and reuses them. It never follows redirects, never decompresses, adds no header of its own
(no ``User-Agent``, ``Accept`` or ``Content-Type`` the browser did not send), keeps no cookies,
and sends the target exactly as checked (``encoded=True``: yarl would otherwise normalise it).
A kept-alive connection that the upstream closed while it sat in the pool is retried once on a
new one when the request can be sent again unchanged, as the sync client does.

aiohttp rather than httpx: on this machine httpx's async client cost more per call than the rest
of the proxy (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from yarl import URL

from accounts.api import AuthenticationRequirement
from proxy.conf import proxy_settings
from proxy.exceptions import UpstreamTimeout, UpstreamUnavailable
from proxy.forwarding import IDEMPOTENT_METHODS
from proxy.retries import Attempt, Retry, judge_answer
from proxy.upstreams import Upstream

logger = logging.getLogger(__name__)

_SKIP_AUTO_HEADERS = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})
_sessions: dict[int, aiohttp.ClientSession] = {}


def client_session() -> aiohttp.ClientSession:
    """This loop's session, made on first use (after the worker forked)."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(id(loop))
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(
            # No cap: every open event stream holds an upstream connection of its own, and the
            # allow-list, not this pool, bounds where they go.
            limit=0,
            limit_per_host=0,
            keepalive_timeout=15,
            ttl_dns_cache=60,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        _sessions[id(loop)] = session
    return session


async def aclose_sessions() -> None:
    session = _sessions.pop(id(asyncio.get_running_loop()), None)
    if session is not None:
        await session.close()


async def asend(
    upstream: Upstream,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | AsyncIterator[bytes] | None,
) -> aiohttp.ClientResponse:
    """Send one request for ``target`` to ``upstream``; the answer's body is left unread."""
    replayable = not isinstance(body, AsyncIterator) and method in IDEMPOTENT_METHODS
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=upstream.connect_timeout, sock_read=upstream.read_timeout
    )
    url = URL(upstream.origin + target, encoded=True)
    for attempt in (1, 2):
        try:
            return await client_session().request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=timeout,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamTimeout(f"{upstream.name} did not accept a connection in time.") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(f"{upstream.name} did not answer in time.") from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnavailable(f"{upstream.name} could not be reached.") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if attempt == 1 and replayable:
                logger.info("%s dropped a kept-alive connection; sending again", upstream.name)
                continue
            raise UpstreamUnavailable(f"{upstream.name} closed the connection.") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise UpstreamUnavailable(f"{upstream.name} could not be reached.") from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def aread_whole(response: aiohttp.ClientResponse, *, upstream: str) -> bytes:
    """Read a small body completely; the connection goes back to the pool."""
    try:
        return await response.read()
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        response.close()
        raise UpstreamTimeout(f"{upstream} did not finish its answer in time.") from exc
    except (aiohttp.ClientError, OSError) as exc:
        response.close()
        raise UpstreamUnavailable(f"{upstream} broke off its answer.") from exc
    finally:
        response.release()


async def aread_some(response: aiohttp.ClientResponse, size: int, *, upstream: str) -> bytes:
    """Whatever has arrived, up to ``size`` bytes; b"" at the end. An event reaches the browser
    when the upstream sends it, not when a buffer fills."""
    try:
        return await response.content.read(size)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        response.close()
        raise UpstreamUnavailable(f"{upstream} broke off its answer.") from exc


async def adiscard(response: aiohttp.ClientResponse, *, keep_up_to: int) -> None:
    """Give ``response``'s connection back: drained when little is left, closed otherwise."""
    length = response.content_length
    if length is not None and length <= keep_up_to:
        try:
            await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError):
            response.close()
    else:
        response.close()
    response.release()


async def aretry_for(
    response: aiohttp.ClientResponse,
    upstream: Upstream,
    attempt: Attempt,
    replayable: bool,
    check_login: Callable[[AuthenticationRequirement], Awaitable[object]],
) -> Retry | None:
    """``proxy.forwarding.retry_for`` for an aiohttp answer."""
    verdict = judge_answer(
        upstream,
        response.status,
        response.headers.getall("WWW-Authenticate", []),
        response.headers.get("DPoP-Nonce"),
        attempt=attempt,
        replayable=replayable,
    )
    if not verdict.passes_on:
        await adiscard(response, keep_up_to=proxy_settings.PROXY_CHUNK_SIZE)
    if verdict.step_up is not None:
        await check_login(verdict.step_up)  # a login short of it steps up rather than be refused
    return verdict.retry_or_raise()
