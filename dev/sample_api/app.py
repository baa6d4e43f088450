"""A small API behind the proxy, for development and tests: plain WSGI, no framework.

Every endpoint but ``/health`` wants an access token from the local provider, checked with
``accounts.resource_server`` exactly as your own API would check it: a bearer token, or a
DPoP-bound one with its proof. ``SAMPLE_API_REQUIRE_DPOP=1`` refuses bearer tokens;
``SAMPLE_API_DPOP_NONCE=1`` makes every proof carry a nonce the API hands out (RFC 9449 §9),
which is how the proxy's nonce retry is seen working.

    GET  /health            no token needed
    GET  /whoami            the token's subject, scopes and audience
    GET  /notes             the caller's notes (kept in memory, per ``sub``)
    POST /notes             {"text": "..."} adds one
    GET  /stream?count=&interval=   server-sent events, one every ``interval`` seconds
    GET  /big?bytes=N[&chunked=1]   N bytes, with Content-Length (or chunked)
    POST /upload            counts the bytes of the body, read in chunks; never holds it whole
    GET  /transfers         only for a token whose login met ``urn:dev:loa:2``; any other gets
                            an RFC 9470 step-up challenge (401 insufficient_user_authentication)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote

from accounts.resource_server import (
    AccessTokenError,
    AccessTokenValidator,
    DPoPPolicy,
    HmacNonces,
)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
CHUNK = 64 * 1024
MAX_NOTE_BYTES = 16 * 1024
# A fixed, recognisable pattern, so a test can check every byte of a download.
PATTERN = bytes(range(256)) * (CHUNK // 256)
# The local provider's second authentication level (dev/provider/server.mjs).
TRANSFERS_ACR = "urn:dev:loa:2"


class Notes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sub: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def list(self, sub: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._by_sub.get(sub, []))

    def add(self, sub: str, text: str) -> dict[str, Any]:
        with self._lock:
            note = {"id": next(self._ids), "text": text, "created_at": int(time.time())}
            self._by_sub.setdefault(sub, []).append(note)
            return note


class SampleAPI:
    def __init__(self, validator: AccessTokenValidator) -> None:
        self.validator = validator
        self.notes = Notes()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        if path == "/health":
            return _json(start_response, 200, {"ok": True})
        try:
            claims = self.validator.validate_request(
                authorization=environ.get("HTTP_AUTHORIZATION"),
                dpop=[environ["HTTP_DPOP"]] if "HTTP_DPOP" in environ else [],
                method=method,
                url=request_url(environ),
            )
        except AccessTokenError as error:
            return _json(
                start_response, error.status, error.as_json(), list(error.headers().items())
            )
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        route = (method, path)
        if route == ("GET", "/whoami"):
            return _json(
                start_response,
                200,
                {
                    "sub": claims["sub"],
                    "scope": claims.get("scope", ""),
                    "aud": claims["aud"],
                    "client_id": claims.get("client_id"),
                    "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
                    # The key the token is bound to (RFC 9449 cnf.jkt); null for a bearer token.
                    "dpop_jkt": (claims.get("cnf") or {}).get("jkt"),
                },
            )
        if route == ("GET", "/notes"):
            return _json(start_response, 200, {"notes": self.notes.list(claims["sub"])})
        if route == ("POST", "/notes"):
            return self._add_note(environ, start_response, claims["sub"])
        if route == ("GET", "/stream"):
            return _events(
                start_response, int(query.get("count", 5)), float(query.get("interval", 1))
            )
        if route == ("GET", "/big"):
            return _big(start_response, int(query.get("bytes", 1024)), query.get("chunked") == "1")
        if route == ("POST", "/upload"):
            return _upload(environ, start_response)
        if route == ("GET", "/transfers"):
            return _transfers(start_response, claims)
        if path in {"/whoami", "/notes", "/stream", "/big", "/upload", "/transfers"}:
            return _json(start_response, 405, {"error": "method_not_allowed"})
        return _json(start_response, 404, {"error": "not_found"})

    def _add_note(self, environ: Environ, start_response: StartResponse, sub: str) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_NOTE_BYTES:
            return _json(start_response, 413, {"error": "note_too_large"})
        try:
            text = json.loads(environ["wsgi.input"].read(length) or b"{}")["text"]
        except (ValueError, KeyError, TypeError):
            return _json(start_response, 400, {"error": 'send {"text": "..."}'})
        if not isinstance(text, str) or not text.strip():
            return _json(start_response, 400, {"error": "text must be a non-empty string"})
        return _json(start_response, 201, self.notes.add(sub, text.strip()))


def _transfers(start_response: StartResponse, claims: dict[str, Any]) -> list[bytes]:
    if claims.get("acr") != TRANSFERS_ACR:
        challenge = (
            'Bearer error="insufficient_user_authentication", '
            'error_description="transfers need a two-factor login", '
            f'acr_values="{TRANSFERS_ACR}"'
        )
        return _json(
            start_response,
            401,
            {"error": "insufficient_user_authentication"},
            [("WWW-Authenticate", challenge)],
        )
    return _json(start_response, 200, {"transfers": [], "acr": claims["acr"]})


def _json(
    start_response: StartResponse,
    status: int,
    body: Any,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(f"{status} {_REASONS.get(status, 'Status')}", headers + (extra or []))
    return [data]


def _events(start_response: StartResponse, count: int, interval: float) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
    for n in range(1, count + 1):
        yield f"id: {n}\nevent: tick\ndata: {json.dumps({'n': n, 'at': time.time()})}\n\n".encode()
        if n < count:
            time.sleep(interval)


def _big(start_response: StartResponse, size: int, chunked: bool) -> Iterator[bytes]:
    headers = [("Content-Type", "application/octet-stream")]
    if not chunked:
        headers.append(("Content-Length", str(size)))
    start_response("200 OK", headers)
    remaining = size
    while remaining > 0:
        chunk = PATTERN[: min(CHUNK, remaining)]
        remaining -= len(chunk)
        yield chunk


def _upload(environ: Environ, start_response: StartResponse) -> list[bytes]:
    source = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    remaining = int(length) if length else None
    if remaining is None and not environ.get("wsgi.input_terminated"):
        return _json(start_response, 411, {"error": "length_required"})
    digest = hashlib.sha256()
    total = 0
    while remaining is None or remaining > 0:
        chunk = source.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
        if remaining is not None:
            remaining -= len(chunk)
    return _json(start_response, 200, {"bytes": total, "sha256": digest.hexdigest()})


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    503: "Service Unavailable",
}


def request_url(environ: Environ) -> str:
    """The URL a request was made for, as a DPoP proof's ``htu`` names it: this server's scheme
    and Host, and the path as sent (gunicorn's ``RAW_URI``) without the query."""
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    raw = str(environ.get("RAW_URI") or "").split("?", 1)[0]
    path = raw or quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    return f"{environ['wsgi.url_scheme']}://{host}{path}"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def dpop_policy(*, require_dpop: bool, dpop_nonce: bool) -> DPoPPolicy:
    # One process (gunicorn's one worker here): used proofs are remembered in its memory, and
    # nonces are signed with a secret of its own.
    nonces = HmacNonces(secrets.token_bytes(32)) if dpop_nonce else None
    return DPoPPolicy(required=require_dpop, nonces=nonces)


def make_app(
    issuer: str, audience: str, *, require_dpop: bool = False, dpop_nonce: bool = False
) -> SampleAPI:
    return SampleAPI(
        AccessTokenValidator(
            issuer=issuer,
            audience=audience,
            require_at_jwt_type=True,
            # The local provider restarts with new keys; do not wait long to see them.
            min_refetch_interval=1,
            dpop=dpop_policy(require_dpop=require_dpop, dpop_nonce=dpop_nonce),
        )
    )
