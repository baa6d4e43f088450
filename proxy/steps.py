"""The steps of a proxied call, as pure functions both shells call: the WSGI view
(``proxy.views``) and the ASGI handler (``proxy.asgi_http``). Only reading and writing differ
between them; every decision is made here or in the modules named below, once.

In order: the method (``check_method``), the anti-forgery header (``check_csrf_header``), the
path and query (``forwarded_target``, with ``proxy.paths``), the body's size
(``proxy.bodies.plan_body``), whether a token is sent (``wants_token``), the headers
(``proxy.headers``), whether an upstream 401 is worth a renewal or a new DPoP nonce and one
more send (``proxy.retries``), and what the browser gets back (``browser_head``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from proxy.exceptions import CsrfHeaderMissing, MethodNotAllowed
from proxy.headers import browser_response_headers
from proxy.paths import check_path, check_query, split_forwarded_path
from proxy.redirects import rewrite_location
from proxy.upstreams import Upstream

# Statuses whose responses never have a body (RFC 9110 §6.4.1).
NO_BODY_STATUSES = frozenset({204, 304})


def check_method(upstream: Upstream, method: str) -> None:
    if method not in upstream.methods:
        raise MethodNotAllowed(
            f"{upstream.name} does not accept {method}.", allowed=upstream.methods
        )


def check_csrf_header(value: str | None, name: str) -> None:
    """Any non-empty value will do: its presence is what a cross-site request cannot forge."""
    if not value:
        raise CsrfHeaderMissing(
            f"Send the header '{name}: 1' with every call through the proxy (fetch(url, "
            f"{{headers: {{'{name}': '1'}}}}))."
        )


def route_prefix(decoded_path: str, forwarded_decoded: str) -> str:
    """``/api/proxy/<name>``: the decoded path without the forwarded part."""
    if not forwarded_decoded:
        return decoded_path
    return decoded_path[: len(decoded_path) - len(forwarded_decoded)]


def forwarded_target(upstream: Upstream, raw_path: str, prefix: str, raw_query: str) -> str:
    """The request target upstream (path and query), after the path and query checks."""
    path = check_path(split_forwarded_path(raw_path, prefix))
    return upstream.target_for(path, check_query(raw_query))


def wants_token(upstream: Upstream, *, authenticated: bool) -> bool:
    """Whether to ask for the user's token. An optional upstream is called anonymously when
    nobody is logged in; a logged-in user whose token cannot be had gets the same error as on a
    required upstream, rather than a silent downgrade to an anonymous call."""
    if upstream.auth == "none":
        return False
    return not (upstream.auth == "optional" and not authenticated)


@dataclass(frozen=True)
class BrowserHead:
    status: int
    headers: dict[str, str]  # Content-Type included
    cookies: list[str]  # Set-Cookie values (only with PROXY_FORWARD_SET_COOKIE)
    has_body: bool
    read_whole: bool  # small enough to read at once: one write, no chunked framing


def browser_head(
    status: int,
    upstream_headers: Iterable[tuple[str, str]],
    *,
    method: str,
    upstream: Upstream,
    target: str,
    proxy_base: str,
    forward_set_cookie: bool,
    chunk_size: int,
) -> BrowserHead:
    """What the browser gets in place of the upstream's status line and headers."""
    headers, cookies = browser_response_headers(
        upstream_headers, forward_set_cookie=forward_set_cookie
    )
    if "Location" in headers:
        headers["Location"] = rewrite_location(
            headers["Location"],
            request_url=upstream.origin + target,
            upstream_base=upstream.origin + upstream.base_path,
            proxy_base=proxy_base.rstrip("/"),
        )
    has_body = status not in NO_BODY_STATUSES and method != "HEAD"
    # Never let a default (Django's is text/html) label an untyped body: the browser would
    # render it.
    content_type = headers.pop("Content-Type", None) or "application/octet-stream"
    if status not in NO_BODY_STATUSES:
        headers["Content-Type"] = content_type
    # The answer depends on whose session cookie came with the call.
    vary = headers.get("Vary", "")
    if not vary:
        headers["Vary"] = "Cookie"
    elif vary.strip() != "*" and "cookie" not in vary.lower():
        headers["Vary"] = f"{vary}, Cookie"
    length = headers.get("Content-Length", "")
    read_whole = not has_body or (length.isdigit() and int(length) <= chunk_size)
    return BrowserHead(status, headers, cookies, has_body, read_whole)
