"""DPoP at the provider (RFC 9449): the key new tokens are bound to, and the nonces the
provider hands out.

The key never leaves the server: proofs are made here and sent server to server, and the browser
sees neither the key nor a proof. Proofs themselves are built by ``accounts.protocol.dpop``.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from accounts.oidc.client_keys import dpop_key_for
from accounts.protocol.signing_keys import SigningKey

logger = logging.getLogger(__name__)

NONCE_HEADER = "DPoP-Nonce"


def token_binding_key() -> SigningKey | None:
    """The key new tokens are bound to; ``None`` when ``OIDC_USE_DPOP`` is off.

    The first configured key: refresh tokens of a confidential client are bound to its client
    authentication, not to a DPoP key (RFC 9449 section 5), so after a key rotation the next
    refresh simply binds the new access token to the new first key.
    """
    if not accounts_settings.OIDC_USE_DPOP:
        return None
    key = dpop_key_for(None)
    if key is None:  # accounts.E026 reports it at startup
        raise ImproperlyConfigured("OIDC_USE_DPOP is on but OIDC_DPOP_KEYS holds no key.")
    return key


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
