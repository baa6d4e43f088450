"""Which headers cross the proxy, in each direction. The tables here are the whole policy.

Requests: the browser's credentials for *this* site (``Cookie``, and an ``Authorization`` or
``DPoP`` proof it might add) never reach an upstream, nor does the anti-forgery header, nor
anything that describes the hop to us (hop-by-hop headers, those named in ``Connection``,
``Host``, ``Proxy-*``). The proxy adds the user's token (its credential headers: as a bearer
token, or DPoP-bound with this site's proof, ``proxy.credentials``) and the ``X-Forwarded-*``
trio.

Responses: hop-by-hop headers are dropped, so is ``Set-Cookie`` unless allowed, and so is an
upstream's ``DPoP-Nonce`` (it is for the proof this site signs, not the browser's business);
the result is never cacheable by a shared cache: it was made for one user with that user's token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

# RFC 9110 §7.6.1, plus Proxy-Connection and Keep-Alive that old clients still send.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Never forwarded upstream, whatever the browser sends. Content-Length is set again from the
# body actually forwarded; Expect is answered by the WSGI server itself; the X-Forwarded trio
# and Forwarded are rebuilt by the proxy, so a browser cannot claim another origin.
REQUEST_NEVER_FORWARDED = HOP_BY_HOP | {
    "cookie",
    "authorization",
    "dpop",
    "host",
    "content-length",
    "expect",
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-proto",
}

RESPONSE_NEVER_FORWARDED = HOP_BY_HOP | {"set-cookie", "dpop-nonce"}

# A WebSocket handshake is made again for the upstream hop: its key, version and extensions
# belong to the browser's hop (the client library sends its own), and the subprotocols the
# browser offers are passed on as such (``websocket_subprotocols``), not as a raw header.
WEBSOCKET_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-accept",
        "sec-websocket-protocol",
    }
)

# Directives that would let a shared cache (a CDN, a corporate proxy) keep a user's answer.
_SHARED_CACHE_DIRECTIVES = frozenset({"public", "s-maxage", "proxy-revalidate", "private"})


def connection_tokens(value: str | None) -> frozenset[str]:
    """Header names listed in ``Connection``: hop-by-hop for this hop only (RFC 9110 §7.6.1)."""
    if not value:
        return frozenset()
    return frozenset(token.strip().lower() for token in value.split(",") if token.strip())


def upstream_request_headers(
    environ: Mapping[str, Any],
    *,
    csrf_header: str,
    credentials: Mapping[str, str],
    forwarded_host: str,
    forwarded_proto: str,
) -> dict[str, str]:
    """The headers to send upstream for the WSGI request ``environ``, framing excluded."""
    return forwarded_request_headers(
        _environ_headers(environ),
        client=str(environ.get("REMOTE_ADDR", "")),
        csrf_header=csrf_header,
        credentials=credentials,
        forwarded_host=forwarded_host,
        forwarded_proto=forwarded_proto,
    )


def _environ_headers(environ: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-").lower(), value
        elif key == "CONTENT_TYPE" and value:
            yield "content-type", value


def forwarded_request_headers(
    headers: Iterable[tuple[str, str]],
    *,
    client: str,
    csrf_header: str,
    credentials: Mapping[str, str],
    forwarded_host: str,
    forwarded_proto: str,
) -> dict[str, str]:
    """The headers to send upstream, from the browser's ``(lower-case name, value)`` pairs
    (repeated names are joined, as in a WSGI environ), framing excluded, and ``credentials``
    (the token's ``Authorization``, and its ``DPoP`` proof when it is DPoP-bound)."""
    pairs = list(headers)
    dropped = REQUEST_NEVER_FORWARDED | connection_tokens(
        ", ".join(v for k, v in pairs if k == "connection")
    )
    csrf = csrf_header.lower()
    kept: dict[str, str] = {}
    forwarded_for = ""
    for name, value in pairs:
        if name in dropped or name == csrf or name.startswith("proxy-"):
            continue
        if name == "x-forwarded-for":
            forwarded_for = f"{forwarded_for}, {value}" if forwarded_for else value
            continue
        display = _display_name(name)
        kept[display] = f"{kept[display]}, {value}" if display in kept else value
    if client:
        forwarded_for = f"{forwarded_for}, {client}" if forwarded_for else client
    if forwarded_for:
        kept["X-Forwarded-For"] = forwarded_for
    kept["X-Forwarded-Proto"] = forwarded_proto
    kept["X-Forwarded-Host"] = forwarded_host
    kept.update(credentials)
    return kept


def websocket_request_headers(
    headers: Iterable[tuple[str, str]],
    *,
    client: str,
    csrf_header: str,
    credentials: Mapping[str, str],
    forwarded_host: str,
    forwarded_proto: str,
) -> dict[str, str]:
    """The headers for the upstream's WebSocket handshake: the HTTP rules (no ``Cookie``, no
    browser ``Authorization``, no hop-by-hop ``Upgrade``/``Connection``, the token added), and
    none of the browser hop's ``Sec-WebSocket-*``."""
    kept = [(k, v) for k, v in headers if k not in WEBSOCKET_HANDSHAKE]
    return forwarded_request_headers(
        kept,
        client=client,
        csrf_header=csrf_header,
        credentials=credentials,
        forwarded_host=forwarded_host,
        forwarded_proto=forwarded_proto,
    )


def websocket_subprotocols(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The subprotocols the browser offers, in its order (RFC 6455 §4.1)."""
    offered: list[str] = []
    for name, value in headers:
        if name == "sec-websocket-protocol":
            offered += [p.strip() for p in value.split(",") if p.strip()]
    return offered


def browser_response_headers(
    items: Iterable[tuple[str, str]], *, forward_set_cookie: bool
) -> tuple[dict[str, str], list[str]]:
    """Split an upstream's headers into those for the browser and its ``Set-Cookie`` values.

    Repeated headers are joined with ", " (RFC 9110 §5.3), except ``Set-Cookie``, which cannot
    be; those come back apart, and empty unless ``forward_set_cookie``.
    """
    pairs = list(items)
    dropped = RESPONSE_NEVER_FORWARDED | connection_tokens(
        ", ".join(v for k, v in pairs if k.lower() == "connection")
    )
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        lower = name.lower()
        if lower == "set-cookie":
            if forward_set_cookie:
                cookies.append(value)
            continue
        if lower in dropped:
            continue
        display = _display_name(lower)
        headers[display] = f"{headers[display]}, {value}" if display in headers else value
    headers["Cache-Control"] = private_cache_control(headers.get("Cache-Control"))
    return headers, cookies


def private_cache_control(upstream_value: str | None) -> str:
    """The upstream's ``Cache-Control`` made safe for a per-user answer.

    Shared-cache directives go, ``private`` is always there; whatever else the upstream said
    (``no-store``, ``max-age``, ``no-cache``) is kept, since the browser's own cache may honour it.
    """
    kept = ["private"]
    for directive in (upstream_value or "").split(","):
        directive = directive.strip()
        name = directive.split("=", 1)[0].strip().lower()
        if directive and name not in _SHARED_CACHE_DIRECTIVES:
            kept.append(directive)
    return ", ".join(kept)


def _display_name(lower: str) -> str:
    # Header names are case-insensitive; the conventional spelling only helps people reading
    # an upstream's logs.
    return "-".join(part.capitalize() for part in lower.split("-"))
