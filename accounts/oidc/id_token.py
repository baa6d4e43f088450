"""Strict validation of JWTs the provider signs: ID tokens (OIDC Core 1.0, section 3.1.3.7) and,
through the same checks, back-channel logout tokens (``accounts.oidc.logout_token``).

mozilla-django-oidc checks the signature, ``exp`` and ``nonce`` only; it leaves ``iss`` and
``aud`` unchecked and lets clock skew escape as a 500. Every rule here has a test in
tests/accounts/oidc/test_id_token.py.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from accounts.conf import accounts_settings
from accounts.exceptions import InvalidIDToken
from accounts.oidc.jwks import signing_keys
from accounts.protocol.key_selection import names_foreign_key


def validate_id_token(
    token: str,
    *,
    issuer: str,
    jwks_uri: str,
    nonce: str | None,
) -> dict[str, Any]:
    """Return the verified claims of ``token`` or raise ``InvalidIDToken`` saying which rule failed.

    ``nonce`` is the value sent in the authorization request; pass ``None`` for an ID token from
    a refresh, which carries no nonce of ours.
    """
    claims = verify_provider_jwt(
        token,
        issuer=issuer,
        jwks_uri=jwks_uri,
        required=("iss", "sub", "aud", "exp", "iat"),
        what="ID token",
    )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidIDToken("The ID token's 'sub' claim is empty.")
    if nonce is not None and claims.get("nonce") != nonce:
        raise InvalidIDToken("The ID token's nonce does not match this login.")
    return claims


def verify_provider_jwt(
    token: str, *, issuer: str, jwks_uri: str, required: tuple[str, ...], what: str
) -> dict[str, Any]:
    """Signature with the pinned algorithm and a published key; ``iss``; ``aud`` (the client,
    no untrusted extra audience, ``azp``); ``exp`` and ``iat`` with leeway; ``iat`` not stale.
    Raises ``InvalidIDToken`` whose message names ``what`` and the rule that failed."""
    alg = accounts_settings.OIDC_SIGNING_ALGORITHM
    leeway = accounts_settings.OIDC_CLOCK_SKEW
    the = f"The {what}"

    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise InvalidIDToken(f"{the} is not a well-formed JWT.") from exc
    if header.get("alg") != alg:
        raise InvalidIDToken(f"{the} is signed with {header.get('alg')!r}, not {alg}.")
    if names_foreign_key(header):
        raise InvalidIDToken(f"{the} names its own signing key; that is not accepted.")

    key = signing_keys.signing_key(jwks_uri, header.get("kid"), alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            issuer=issuer,
            # Checked below, more strictly than PyJWT does (untrusted extra audiences, azp).
            options={"verify_aud": False, "require": list(required), "verify_iat": True},
            leeway=leeway,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidIDToken(f"{the} has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidIDToken(f"{the} is not valid yet (issued in the future).") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidIDToken(f"{the} comes from another issuer.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidIDToken(f"{the} lacks the {exc.claim!r} claim.") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidIDToken(f"{the}'s signature does not verify.") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidIDToken(f"{the} is invalid ({type(exc).__name__}).") from exc

    _check_audience(claims, accounts_settings.OIDC_CLIENT_ID, the)
    _check_issued_recently(claims, leeway=leeway, the=the)
    return claims


def _check_audience(claims: dict[str, Any], client_id: str, the: str) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise InvalidIDToken(f"{the}'s 'aud' claim is malformed.")
    if client_id not in audiences:
        raise InvalidIDToken(f"{the} was issued to another client.")
    untrusted = set(audiences) - {client_id} - accounts_settings.OIDC_TRUSTED_AUDIENCES
    if untrusted:
        raise InvalidIDToken(f"{the} also names an audience this site does not trust.")
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise InvalidIDToken(f"{the}'s 'azp' names another client.")
    if len(audiences) > 1 and azp is None:
        raise InvalidIDToken(f"{the} has several audiences but no 'azp'.")


def _check_issued_recently(claims: dict[str, Any], *, leeway: int, the: str) -> None:
    iat = claims["iat"]
    if not isinstance(iat, int | float):
        raise InvalidIDToken(f"{the}'s 'iat' claim is not a number.")
    if iat < time.time() - accounts_settings.OIDC_ID_TOKEN_MAX_AGE - leeway:
        raise InvalidIDToken(f"{the} was issued too long ago.")
