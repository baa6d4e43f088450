"""DPoP at the provider (RFC 9449): the key new tokens are bound to, and the nonces the
provider hands out.

The key never leaves the server: proofs are made here and sent server to server, and the browser
sees neither the key nor a proof. Proofs themselves are built by ``accounts.protocol.dpop``.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

import jwt
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from accounts.oidc.client_keys import dpop_key_for
from accounts.protocol.signing_keys import SigningKey

logger = logging.getLogger(__name__)

NONCE_HEADER = "DPoP-Nonce"


def token_binding_key(renewing: str | None = None) -> SigningKey | None:
    """The key a token request proves possession of; ``None`` when ``OIDC_USE_DPOP`` is off.

    A login takes the first configured key. A refresh (``renewing``: the access token it
    replaces) keeps the key that token is bound to while that key is configured: RFC 9449
    section 5 leaves a confidential client's refresh token unbound, but some providers bind
    it to the key all the same, and a proof from another key would end the session. Only when
    the old key is gone, or the token does not say (an opaque one), does the first key sign.
    """
    if not accounts_settings.OIDC_USE_DPOP:
        return None
    key = dpop_key_for(bound_thumbprint(renewing)) if renewing else None
    key = key or dpop_key_for(None)
    if key is None:  # accounts.E026 reports it at startup
        raise ImproperlyConfigured("OIDC_USE_DPOP is on but OIDC_DPOP_KEYS holds no key.")
    return key


def bound_thumbprint(access_token: str | None) -> str | None:
    """``cnf.jkt`` of a JWT access token, read without verification (it only picks which of
    our own keys to sign with); ``None`` for an opaque or unbound token."""
    if not access_token:
        return None
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    confirmation = claims.get("cnf")
    thumbprint = confirmation.get("jkt") if isinstance(confirmation, dict) else None
    return thumbprint if isinstance(thumbprint, str) else None


def authorization_binding() -> dict[str, str]:
    """``dpop_jkt`` for the authorization request (RFC 9449 section 10): the code can then be
    exchanged only with a proof from our key, so a code that leaks from the browser is useless
    on its own."""
    key = token_binding_key()
    return {"dpop_jkt": key.kid} if key else {}


# The latest nonce each server gave us (RFC 9449 section 8), by origin: sent with the next
# proof so that a provider that requires nonces does not have to challenge every request.
_nonces: dict[str, str] = {}
_nonces_lock = threading.Lock()


def remembered_nonce(url: str) -> str | None:
    with _nonces_lock:
        return _nonces.get(_origin(url))


def remember_nonce(url: str, nonce: str | None) -> None:
    """Keep the ``DPoP-Nonce`` a response carried, if any (section 8.2: any answer may)."""
    if nonce and nonce.strip():
        with _nonces_lock:
            _nonces[_origin(url)] = nonce.strip()


def forget_nonces() -> None:
    with _nonces_lock:
        _nonces.clear()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
