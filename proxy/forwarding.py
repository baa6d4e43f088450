"""Sending a request upstream and streaming the answer back, over kept-alive connections.

One urllib3 connection pool per upstream origin is shared by every thread of a worker:
connections are kept alive and reused (a new TCP connection per call costs more than the rest
of the proxy).
``requests`` is not used on this path: its per-call overhead is about a quarter of the proxy's
own time. Redirects are never followed and urllib3's own retries are off; the one retry
described in ``send`` is the only one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import urllib3
from urllib3.connectionpool import connection_from_url
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from accounts.api import AuthenticationRequirement
from proxy.conf import proxy_settings
from proxy.exceptions import UpstreamTimeout, UpstreamUnavailable
from proxy.retries import Attempt, Retry, judge_answer
from proxy.upstreams import Upstream

logger = logging.getLogger(__name__)

# RFC 9110 §9.2.2: repeating these has the same effect as sending them once.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

_pools: dict[str, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def upstream_pool(upstream: Upstream) -> urllib3.HTTPConnectionPool:
    """The process's connection pool for ``upstream``'s origin, made on first use: after
    gunicorn forks, so no worker shares a socket with another.

    One pool per origin, kept for the life of the process: the allow-list bounds how many
    there are, and a PoolManager would parse the URL and look the pool up on every call.
    """
    pool = _pools.get(upstream.origin)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(upstream.origin)
            if pool is None:
                pool = connection_from_url(
                    upstream.origin, maxsize=proxy_settings.PROXY_POOL_MAXSIZE, block=False
                )
                _pools[upstream.origin] = pool
    return pool


def forget_pool() -> None:
    """Close every kept-alive connection and forget the pools.

    Only the proxy tests call it (``tests/proxy/conftest.py``), around each test that points
    ``PROXY_UPSTREAMS`` elsewhere. Nothing in the running site does: a changed allow-list needs
    a restart, like any other setting."""
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def send(
    upstream: Upstream,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | Iterator[bytes] | None,
    *,
    chunked: bool,
) -> urllib3.BaseHTTPResponse:
    """Send one request for ``target`` (path and query) to ``upstream``; the response's body
    is left unread, to be streamed.

    A kept-alive connection that the upstream closed while it sat in the pool fails only when it
    is used. When the request can be sent again unchanged (an idempotent method with no body or a
    buffered one) that failure is retried once, on a new connection.
    """
    replayable = not isinstance(body, Iterator) and method in IDEMPOTENT_METHODS
    for attempt in (1, 2):
        try:
            return upstream_pool(upstream).urlopen(
                method,
                target,
                body=body,
                headers=headers,
                chunked=chunked,
                redirect=False,
                retries=False,
                timeout=upstream.timeout,
                preload_content=False,
                decode_content=False,
            )
        except ReadTimeoutError as exc:
            raise UpstreamTimeout(f"{upstream.name} did not answer in time.") from exc
        except NewConnectionError as exc:
            raise UpstreamUnavailable(f"{upstream.name} could not be reached.") from exc
        except ConnectTimeoutError as exc:
            raise UpstreamTimeout(f"{upstream.name} did not accept a connection in time.") from exc
        except ProtocolError as exc:
            if attempt == 1 and replayable:
                logger.info("%s dropped a kept-alive connection; sending again", upstream.name)
                continue
            raise UpstreamUnavailable(f"{upstream.name} closed the connection.") from exc
        except (HTTPError, OSError) as exc:
            raise UpstreamUnavailable(f"{upstream.name} could not be reached.") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def discard(response: urllib3.BaseHTTPResponse, *, keep_up_to: int) -> None:
    """Give ``response``'s connection back: drained when little is left, closed otherwise."""
    remaining: Any = getattr(response, "length_remaining", None)
    if isinstance(remaining, int) and remaining <= keep_up_to:
        response.drain_conn()
    else:
        response.close()
    response.release_conn()


def retry_for(
    response: urllib3.BaseHTTPResponse,
    upstream: Upstream,
    attempt: Attempt,
    replayable: bool,
    check_login: Callable[[AuthenticationRequirement], object],
) -> Retry | None:
    """The retry this answer earns, or None: it goes to the browser; raises what the browser
    gets instead (``proxy.retries.judge_answer``), after ``check_login`` for a verdict that
    needs the login weighed first. An answer not passed on is given back."""
    verdict = judge_answer(
        upstream,
        response.status,
        response.headers.getlist("WWW-Authenticate"),
        response.headers.get("DPoP-Nonce"),
        attempt=attempt,
        replayable=replayable,
    )
    if not verdict.passes_on:
        discard(response, keep_up_to=proxy_settings.PROXY_CHUNK_SIZE)
    if verdict.step_up is not None:
        check_login(verdict.step_up)  # a login short of it steps up rather than be refused
    return verdict.retry_or_raise()


def read_whole(response: urllib3.BaseHTTPResponse, *, upstream: str) -> bytes:
    """Read a small body completely and give the connection back to the pool."""
    try:
        data = response.read(decode_content=False)
    except ReadTimeoutError as exc:
        response.close()
        raise UpstreamTimeout(f"{upstream} did not finish its answer in time.") from exc
    except (HTTPError, OSError) as exc:
        response.close()
        raise UpstreamUnavailable(f"{upstream} broke off its answer.") from exc
    finally:
        response.release_conn()
    return data


class UpstreamBody:
    """The upstream's response body as an iterator of byte strings, for ``StreamingHttpResponse``.

    ``read1`` returns whatever has arrived, up to a chunk: a server-sent event reaches the
    browser when the upstream sends it, not when a buffer fills. The WSGI server calls ``close``
    when the response ends or the browser goes away; an unfinished body's connection is closed
    rather than returned to the pool half-read.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, *, upstream: str, chunk_size: int):
        self._response = response
        self._upstream = upstream
        self._chunk_size = chunk_size
        self._finished = False

    def __iter__(self) -> UpstreamBody:
        return self

    def __next__(self) -> bytes:
        if self._finished:
            raise StopIteration
        try:
            data = self._response.read1(self._chunk_size, decode_content=False)
        except (HTTPError, OSError) as exc:
            self.close()
            # Raising (rather than ending quietly) makes the server cut the connection, so the
            # browser sees a truncated body instead of a complete-looking one.
            raise UpstreamUnavailable(f"{self._upstream} broke off its answer.") from exc
        if not data:
            self._finished = True
            self._response.release_conn()
            raise StopIteration
        return data

    def close(self) -> None:
        if not self._finished:
            self._finished = True
            self._response.close()
        self._response.release_conn()
