"""Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6).

The provider POSTs a signed JWT when a user logs out there; every rule of the spec is checked,
each with a test: signature with the pinned algorithm (``none`` never), ``iss``, ``aud``, ``iat``,
``exp``, ``jti``, ``sub`` or ``sid``, the back-channel logout event, no ``nonce``, and no replay
of a ``jti`` (kept in Redis for the token's lifetime). ``typ: logout+jwt`` is not required:
providers that predate it are common.
"""

from __future__ import annotations

import time
from typing import Any

from django_redis import get_redis_connection

from accounts.conf import accounts_settings
from accounts.exceptions import InvalidIDToken, InvalidLogoutToken
from accounts.oidc.discovery import ProviderMetadata
from accounts.oidc.id_token import verify_provider_jwt
from accounts.protocol.times import LATEST, numeric_date

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def validate_logout_token(token: str, metadata: ProviderMetadata) -> dict[str, Any]:
    try:
        claims = verify_provider_jwt(
            token,
            issuer=metadata.issuer,
            jwks_uri=metadata.jwks_uri,
            required=("iss", "aud", "iat", "exp", "jti"),
            what="logout token",
        )
    except InvalidIDToken as exc:
        raise InvalidLogoutToken(exc.message) from exc
    for name in ("sub", "sid"):
        if name in claims and not _nonempty(claims[name]):
            raise InvalidLogoutToken(f"The logout token's {name!r} is not a non-empty string.")
    if not (_nonempty(claims.get("sub")) or _nonempty(claims.get("sid"))):
        raise InvalidLogoutToken("The logout token names neither 'sub' nor 'sid'.")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise InvalidLogoutToken("The logout token lacks the back-channel logout event.")
    if "nonce" in claims:
        # Section 2.4: a nonce would let an ID token pass as a logout token.
        raise InvalidLogoutToken("The logout token carries a nonce; it is refused.")
    if not _nonempty(claims.get("jti")):
        raise InvalidLogoutToken("The logout token's 'jti' is empty.")
    # An exp past any date (PyJWT takes 10**400) is remembered for the longest time: a week.
    _refuse_replay(str(claims["jti"]), numeric_date(claims["exp"]) or LATEST)
    return claims


def _refuse_replay(jti: str, exp: float) -> None:
    # Remembered until the token could no longer pass the exp check anyway; a week at most, as
    # an absurd exp would otherwise be refused by Redis (and logout tokens live minutes).
    ttl = max(1, min(int(exp - time.time()) + accounts_settings.OIDC_CLOCK_SKEW, 7 * 86400))
    key = f"{accounts_settings.REDIS_KEY_PREFIX}:logout-jti:{jti}"
    connection = get_redis_connection(accounts_settings.SESSION_CACHE_ALIAS)
    if not connection.set(key, "1", nx=True, ex=ttl):
        raise InvalidLogoutToken("This logout token was already used.")


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and bool(value)
