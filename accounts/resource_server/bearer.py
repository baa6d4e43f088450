"""Reading an access token out of the ``Authorization`` header (RFC 6750 section 2.1, RFC 9449
section 7.1), and the scopes its claims grant (RFC 9068 section 2.2.3, and the ``scp`` many
providers use instead). Free of Django."""

from __future__ import annotations

from typing import Any, Literal

from accounts.resource_server.errors import TokenMissing

Scheme = Literal["bearer", "dpop"]


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    scheme, token = presented_token(authorization)
    if scheme != "bearer":
        raise TokenMissing("The request has no bearer token.")
    return token


def presented_token(authorization: str | None) -> tuple[Scheme, str]:
    """The scheme (``bearer`` or ``dpop``, whatever the case it was sent in) and the token of an
    ``Authorization`` header value; ``TokenMissing`` for none or another scheme."""
    scheme, _, token = (authorization or "").partition(" ")
    lowered = scheme.lower()
    if not token.strip() or lowered not in ("bearer", "dpop"):
        raise TokenMissing("The request has no access token.")
    return ("dpop" if lowered == "dpop" else "bearer"), token.strip()


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
