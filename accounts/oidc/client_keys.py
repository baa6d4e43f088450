"""This site's own signing keys, read from settings: client assertions and DPoP proofs.

Parsed once per distinct setting value (a test's ``override_settings`` or a rotation deployed
with a restart gets the new keys; a request does not pay for PEM parsing). A setting that holds
no usable key raises ``KeyUnusable``; the system checks (accounts.checks.client_auth) report the
same error at startup, so a request meets it only when the checks were skipped.
"""

from __future__ import annotations

import functools

from accounts.conf import accounts_settings
from accounts.protocol.signing_keys import SigningKey, load_signing_keys


def client_assertion_keys() -> tuple[SigningKey, ...]:
    """Keys for ``private_key_jwt``; empty when none are configured."""
    return _keys(
        accounts_settings.OIDC_CLIENT_SIGNING_KEYS, accounts_settings.OIDC_CLIENT_SIGNING_ALGORITHM
    )


def dpop_keys() -> tuple[SigningKey, ...]:
    """Keys for DPoP proofs; empty when none are configured."""
    return _keys(accounts_settings.OIDC_DPOP_KEYS, accounts_settings.OIDC_DPOP_ALGORITHM)


def dpop_key_for(thumbprint: str | None) -> SigningKey | None:
    """The DPoP key a token is bound to (its ``cnf.jkt``) while it is configured; otherwise,
    for a new token or one whose key was rotated out, the first key. None without keys."""
    keys = dpop_keys()
    bound = next((key for key in keys if key.kid == thumbprint), None) if thumbprint else None
    return bound or (keys[0] if keys else None)


def published_key_set() -> dict[str, list[dict[str, str]]]:
    """``/auth/jwks.json``: the public client assertion keys, for providers that fetch them."""
    return {"keys": [dict(key.public_jwk) for key in client_assertion_keys()]}


@functools.lru_cache(maxsize=8)
def _keys(pem_text: str, algorithm: str) -> tuple[SigningKey, ...]:
    return load_signing_keys(pem_text, algorithm) if pem_text.strip() else ()
