"""DPoP proofs for calls this site makes with a user's access token (RFC 9449 section 7): the
proxy's calls to upstreams that take DPoP-bound tokens.

The proof must be signed with the key the token is bound to. Its ``cnf.jkt`` is read from the
token without verifying it: the token is ours, from our provider, and the thumbprint only picks
which of our own keys signs. No trust is placed in it; the upstream does the verifying. A token
that names no key (opaque, or not bound) gets the first key, the one new tokens are bound to.
"""

from __future__ import annotations

import logging
import time

import jwt

from accounts.conf import accounts_settings
from accounts.exceptions import AccountsError
from accounts.oidc.client_keys import dpop_key_for, dpop_keys
from accounts.protocol.dpop import proof
from accounts.protocol.dpop_verification import bound_thumbprint
from accounts.protocol.signing_keys import KeyUnusable

logger = logging.getLogger(__name__)


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


def access_token_proof(
    access_token: str, *, method: str, url: str, nonce: str | None = None
) -> str:
    """A fresh proof for sending ``access_token`` with ``method`` to ``url`` (its query and
    fragment are left out of ``htu``), carrying ``nonce`` when the server asked for one."""
    bound_to = unverified_binding(access_token)
    try:
        key = dpop_key_for(bound_to) or dpop_key_for(None)
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


def unverified_binding(access_token: str) -> str | None:
    """The ``cnf.jkt`` of a JWT access token, unverified; None for an opaque or unbound one."""
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return bound_thumbprint(claims) if isinstance(claims, dict) else None
