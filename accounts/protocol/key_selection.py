"""Picking the published key that may have signed a JWT. Free of Django, so the resource-server
helper (``accounts.resource_server``), which an API may use without Django, shares it."""

from __future__ import annotations

from typing import Any

_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


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
