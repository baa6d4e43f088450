"""DPoP as this site sends it (RFC 9449): the key a token is bound to, the proof that goes with
an access token to an API (the proxy's upstreams, through ``accounts.api.dpop_proof``), and the
nonces the provider hands out.

The keys never leave the server: proofs are made here and sent server to server, and the browser
sees neither a key nor a proof. Proofs themselves are built by ``accounts.protocol.dpop``.

Which key signs for a token is read from the token's ``cnf.jkt`` without verifying it: the token
is ours, from our provider, and the thumbprint only picks among our own keys. No trust is placed
in it; whoever receives the proof does the verifying. A token that names no key (opaque, or not
bound) gets the first key, the one new tokens are bound to.
"""

from __future__ import annotations

import logging
import time

import jwt
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from accounts.exceptions import AccountsError
from accounts.oidc.client_keys import dpop_key_for, dpop_keys
from accounts.protocol.dpop import LatestNonces, proof
from accounts.protocol.dpop_verification import bound_thumbprint
from accounts.protocol.signing_keys import KeyUnusable, SigningKey

logger = logging.getLogger(__name__)

# The provider's latest nonce, sent with the next token request's proof.
provider_nonces = LatestNonces()


class DPoPKeyMissing(AccountsError):
    """No DPoP key is configured (``OIDC_DPOP_KEYS``), so no proof can be made; the system
    checks report it at start-up (``proxy.E008`` for an upstream that needs one)."""

    status = 503
    code = "dpop_not_configured"
    title = "This site cannot sign DPoP proofs"


def dpop_bound_tokens() -> bool:
    """Whether logins and refreshes ask for DPoP-bound tokens (``OIDC_USE_DPOP``)."""
    return accounts_settings.OIDC_USE_DPOP


def dpop_keys_usable() -> bool:
    """Whether ``OIDC_DPOP_KEYS`` holds at least one key that signs with the chosen algorithm."""
    try:
        return bool(dpop_keys())
    except KeyUnusable:
        return False


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
    key = dpop_key_for(unverified_binding(renewing))
    if key is None:  # accounts.E026 reports it at startup
        raise ImproperlyConfigured("OIDC_USE_DPOP is on but OIDC_DPOP_KEYS holds no key.")
    return key


def authorization_binding() -> dict[str, str]:
    """``dpop_jkt`` for the authorization request (RFC 9449 section 10): the code can then be
    exchanged only with a proof from our key, so a code that leaks from the browser is useless
    on its own."""
    key = token_binding_key()
    return {"dpop_jkt": key.kid} if key else {}


def access_token_proof(
    access_token: str, *, method: str, url: str, nonce: str | None = None
) -> str:
    """A fresh proof for sending ``access_token`` with ``method`` to ``url`` (its query and
    fragment are left out of ``htu``), carrying ``nonce`` when the server asked for one."""
    bound_to = unverified_binding(access_token)
    try:
        key = dpop_key_for(bound_to)
    except KeyUnusable as exc:
        raise DPoPKeyMissing("OIDC_DPOP_KEYS holds no usable key.") from exc
    if key is None:
        raise DPoPKeyMissing("OIDC_DPOP_KEYS is not set.")
    if bound_to is not None and key.kid != bound_to:
        # The bound key was rotated out: the upstream will refuse the token, and its refusal
        # renews the token, bound to the first key this time.
        logger.warning("the access token is bound to a DPoP key no longer configured")
    return proof(
        key, method=method, url=url, now=time.time(), access_token=access_token, nonce=nonce
    )


def unverified_binding(access_token: str | None) -> str | None:
    """The ``cnf.jkt`` of a JWT access token, unverified; None for an opaque or unbound one."""
    if not access_token:
        return None
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return bound_thumbprint(claims) if isinstance(claims, dict) else None
