"""The sample API's WebSocket side: a small ASGI app (no framework) that ``./dev/up`` serves with
uvicorn beside the WSGI API, registered as the upstream ``live`` with ``"websocket": true``.

    GET /health        no token needed
    WS  /echo          every text or binary message comes back as it was sent, except:
                       "!whoami"   → {"sub", "scope", "aud"} of the token (JSON text)
                       "!headers"  → the handshake's header names (JSON text)
                       "!close <code> [reason]" → the server closes with that code

The handshake's token is checked with ``accounts.resource_server``, as ``app.py`` checks the
HTTP API's: none or a bad one is a 401 with RFC 6750's ``WWW-Authenticate``. A DPoP-bound token
comes with a proof of the handshake's GET, whose ``htu`` is the socket's URL in http(s) form
(``ws://h/echo`` is ``http://h/echo``): RFC 9449 names no WebSocket URLs, and the handshake is
an HTTP request to that URL. The first subprotocol the client offers is accepted.

``uvicorn dev.sample_api.live:application --lifespan off`` from the project root;
``SAMPLE_API_ISSUER``, ``SAMPLE_API_AUDIENCE``, ``SAMPLE_API_REQUIRE_DPOP`` and
``SAMPLE_API_DPOP_NONCE`` as for ``dev.sample_api.wsgi``.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from accounts.resource_server import AccessTokenError, AccessTokenValidator
from dev.sample_api.app import dpop_policy, env_flag


class LiveAPI:
    def __init__(self, validator: AccessTokenValidator) -> None:
        self.validator = validator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            found = scope["path"] == "/health"
            await _answer(send, 200 if found else 404, {"ok": found})
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] != "/echo":
            await _refuse(send, 404, {"error": "not_found"}, [])
            return
        try:
            # The validator may fetch the issuer's keys: not on the event loop.
            claims = await asyncio.to_thread(
                self.validator.validate_request,
                authorization=headers.get("authorization"),
                dpop=[headers["dpop"]] if "dpop" in headers else [],
                method="GET",
                url=handshake_url(scope, headers),
            )
        except AccessTokenError as error:
            extra = [(k.lower().encode(), v.encode()) for k, v in error.headers().items()]
            await _refuse(send, error.status, error.as_json(), extra)
            return
        offered = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text == "!whoami":
                who = {k: claims.get(k) for k in ("sub", "scope", "aud")}
                await send({"type": "websocket.send", "text": json.dumps(who)})
            elif text == "!headers":
                await send({"type": "websocket.send", "text": json.dumps(sorted(headers))})
            elif text is not None and text.startswith("!close "):
                code, _, reason = text[7:].partition(" ")
                await send({"type": "websocket.close", "code": int(code), "reason": reason})
                return
            elif text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def _answer(send: Any, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _refuse(send: Any, status: int, body: Any, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "websocket.http.response.body", "body": json.dumps(body).encode()})


def handshake_url(scope: dict[str, Any], headers: dict[str, str]) -> str:
    """The handshake's URL in http(s) form, as the proof's ``htu`` names it."""
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    raw = scope.get("raw_path") or scope["path"].encode()
    return f"{scheme}://{headers.get('host', '')}{raw.decode('latin-1')}"


def make_app(
    issuer: str, audience: str, *, require_dpop: bool = False, dpop_nonce: bool = False
) -> LiveAPI:
    return LiveAPI(
        AccessTokenValidator(
            issuer=issuer,
            audience=audience,
            require_at_jwt_type=True,
            min_refetch_interval=1,
            dpop=dpop_policy(require_dpop=require_dpop, dpop_nonce=dpop_nonce),
        )
    )


application = make_app(
    issuer=os.environ.get("SAMPLE_API_ISSUER")
    or os.environ.get("OIDC_ISSUER")
    or "http://127.0.0.1:8001",
    audience=os.environ.get("SAMPLE_API_AUDIENCE") or "http://127.0.0.1:8002",
    require_dpop=env_flag("SAMPLE_API_REQUIRE_DPOP"),
    dpop_nonce=env_flag("SAMPLE_API_DPOP_NONCE"),
)
