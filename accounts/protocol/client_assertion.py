"""``private_key_jwt`` client authentication (RFC 7523 section 2.2, OIDC Core section 9).

The client proves who it is with a short-lived JWT signed by its private key instead of a shared
secret: ``iss`` and ``sub`` are the client id, ``aud`` names the provider, ``jti`` is new every
time (providers refuse a replayed assertion), and ``exp`` is a minute away, so an assertion that
leaks from a log is worthless soon after.

Free of Django and of I/O.
"""

from __future__ import annotations

import secrets
from typing import Literal

from accounts.protocol.signing_keys import SigningKey

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Long enough for clock skew between us and the provider, short enough to be useless if copied.
ASSERTION_LIFETIME = 60

# What ``aud`` names: the issuer identifier (draft-ietf-oauth-rfc7523bis, FAPI 2.0; Auth0,
# Keycloak, oidc-provider), or the URL of the endpoint the assertion is sent to (RFC 7523's
# original reading; Okta and Entra ask for it).
AssertionAudience = Literal["issuer", "endpoint"]
ASSERTION_AUDIENCES: tuple[AssertionAudience, ...] = ("issuer", "endpoint")


def assertion_claims(
    *, client_id: str, audience: str, now: float, lifetime: int = ASSERTION_LIFETIME
) -> dict[str, object]:
    issued_at = int(now)
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(24),
        "iat": issued_at,
        "exp": issued_at + lifetime,
    }


def client_assertion(key: SigningKey, *, client_id: str, audience: str, now: float) -> str:
    """A signed assertion; its ``kid`` tells the provider which published key verifies it."""
    return key.sign(assertion_claims(client_id=client_id, audience=audience, now=now))


def assertion_form(assertion: str, client_id: str) -> dict[str, str]:
    """The form fields that carry the assertion. ``client_id`` is optional beside it (RFC 7521
    section 4.2) but the pushed authorization endpoint and several providers want it."""
    return {
        "client_id": client_id,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
