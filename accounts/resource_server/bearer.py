"""Reading a bearer token: out of the ``Authorization`` header (RFC 6750 section 2.1), and the
scopes its claims grant (RFC 9068 section 2.2.3, and the ``scp`` many providers use instead).
Free of Django."""

from __future__ import annotations

from typing import Any

from accounts.resource_server.errors import TokenMissing


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing("The request has no bearer token.")
    return token.strip()


def token_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes granted by a token: ``scope`` (RFC 9068, space-separated) or ``scp`` (a list)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(str(s) for s in scp)
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()
