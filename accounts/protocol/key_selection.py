"""Picking the published key that may have signed a JWT, and refusing a JWT that names its own.
Free of Django, so the resource-server helper (``accounts.resource_server``), which an API may use
without Django, shares it with the ID-token checks."""

from __future__ import annotations

from typing import Any

_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}

# JOSE headers (RFC 7515 section 4.1) that tell a verifier to fetch or trust a key from somewhere
# else: a URL of a key set or certificate, or the key or certificate chain itself. The key only
# ever comes from the issuer's published key set, and PyJWT follows none of these; a token that
# carries one was made to trick some verifier, so it is refused outright.
FOREIGN_KEY_HEADERS = ("jku", "x5u", "jwk", "x5c")


def names_foreign_key(header: dict[str, Any]) -> bool:
    """Whether a JWT's (unverified) header points at a key other than the published ones."""
    return any(name in header for name in FOREIGN_KEY_HEADERS)


def select_signing_key(
    keys: list[dict[str, Any]], kid: str | None, alg: str
) -> dict[str, Any] | None:
    """The key for ``kid`` that fits the pinned ``alg`` (type, use and alg members), or None.

    Without a ``kid`` a key is chosen only when exactly one published key could have signed.
    """
    kty = _KEY_TYPES.get(alg[:2])
    candidates = [
        k
        for k in keys
        if k.get("kty") == kty and k.get("use", "sig") == "sig" and k.get("alg", alg) == alg
    ]
    if kid is not None:
        return next((k for k in candidates if k.get("kid") == kid), None)
    return candidates[0] if len(candidates) == 1 else None
