"""Checking a JWT access token (RFC 9068) against its issuer's published keys. Free of Django.

Signature with the issuer's published keys, ``iss``, ``aud`` (this API), ``exp``/``iat``/``nbf``
with a little leeway, and the algorithm pinned, so ``none`` or an HMAC keyed with the public key
never passes. Keys are cached per process and refetched on an unknown ``kid`` at most every
``min_refetch_interval`` seconds (``accounts.protocol.key_sets``).

A token bound to a DPoP key (``cnf.jkt``, RFC 9449) is accepted only with a proof of that key:
``validate_request`` takes the whole request (``Authorization``, ``DPoP``, method, URL);
``validate`` takes bearer tokens alone and refuses bound ones (RFC 9449 section 7.2).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

import jwt

from accounts.protocol.discovery import discovery_url
from accounts.protocol.dpop_verification import bound_thumbprint
from accounts.protocol.key_selection import names_foreign_key
from accounts.protocol.key_sets import KeySetCache
from accounts.resource_server.bearer import Scheme, presented_token, token_scopes
from accounts.resource_server.dpop import DPoPPolicy, check_proof_for, remember_proof
from accounts.resource_server.errors import (
    AccessTokenError,
    InsufficientScope,
    KeyUnavailable,
    TokenMissing,
)


class AccessTokenValidator:
    """Checks JWT access tokens (RFC 9068) issued by ``issuer`` for ``audience``.

    ``jwks_uri`` defaults to the one in the issuer's discovery document, whose ``issuer`` must
    match exactly. ``dpop`` says how DPoP-bound tokens are taken (default ``DPoPPolicy()``:
    accepted with a proof, beside bearer tokens, used proofs remembered in this process). Safe
    to share between threads; make one per API and keep it.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: Iterable[str] = ("RS256",),
        jwks_uri: str | None = None,
        leeway: float = 60,
        require_at_jwt_type: bool = False,
        jwks_ttl: float = 3600,
        min_refetch_interval: float = 30,
        http_timeout: float = 5,
        dpop: DPoPPolicy | None = None,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("an access token validator needs an issuer and an audience")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.require_at_jwt_type = require_at_jwt_type
        self.dpop = dpop if dpop is not None else DPoPPolicy()
        self._jwks_uri = jwks_uri
        self._http_timeout = http_timeout
        self._keys = KeySetCache(
            self._fetch_keys,
            ttl=jwks_ttl,
            min_refetch_interval=min_refetch_interval,
            unavailable=(KeyUnavailable,),
        )

    def validate(self, token: str, *, scopes: Iterable[str] = ()) -> dict[str, Any]:
        """A bearer token's claims, or ``AccessTokenError`` saying why it is refused. A token
        bound to a DPoP key is refused: it is worth nothing without the proof
        ``validate_request`` checks."""
        claims = self._claims(token)
        if bound_thumbprint(claims) is not None:
            raise AccessTokenError(
                "The token is bound to a DPoP key: send it as 'Authorization: DPoP' with a proof."
            )
        _check_scopes(claims, scopes)
        return claims

    def validate_request(
        self,
        *,
        authorization: str | None,
        dpop: Sequence[str] = (),
        method: str,
        url: str,
        scopes: Iterable[str] = (),
    ) -> dict[str, Any]:
        """The claims of the token a request presents, as a bearer token or bound to a DPoP key
        with its proof (every ``DPoP`` header value in ``dpop``), or ``AccessTokenError``.

        ``url`` is the URL the request was made for, from what the API trusts (its public base
        URL and the request's path), never from a header a client could forge unchecked.
        """
        scheme: Scheme | None = None
        try:
            scheme, token = presented_token(authorization)
            if scheme == "dpop":
                proof = check_proof_for(self.dpop, token, dpop, method=method, url=url)
                claims = self._claims(token)
                if bound_thumbprint(claims) != proof.thumbprint:
                    raise AccessTokenError("The token is not bound to the DPoP proof's key.")
                remember_proof(self.dpop, proof)
            elif self.dpop.required:
                raise AccessTokenError("This API takes DPoP-bound tokens only.")
            else:
                claims = self.validate(token)
            _check_scopes(claims, scopes)
        except AccessTokenError as refusal:
            self._challenge(refusal, scheme)
            raise
        return claims

    def missing_token(self) -> AccessTokenError:
        """The refusal of a request that presents no token, with this API's challenge."""
        return self._challenge(TokenMissing("The request has no access token."), None)

    def _challenge(self, refusal: AccessTokenError, scheme: Scheme | None) -> AccessTokenError:
        dpop_challenge = scheme == "dpop" or self.dpop.required
        return refusal.challenged("DPoP" if dpop_challenge else "Bearer", self.dpop.algorithms)

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AccessTokenError("The token is not a JWT.") from exc
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AccessTokenError(f"The token is signed with {alg!r}, not {self.algorithms}.")
        if names_foreign_key(header):
            raise AccessTokenError("The token names its own signing key.")
        if self.require_at_jwt_type and str(header.get("typ", "")).lower() not in {
            "at+jwt",
            "application/at+jwt",
        }:
            raise AccessTokenError("The token is not an access token (typ at+jwt).")
        kid = header.get("kid")
        key = self._keys.signing_key(kid if isinstance(kid, str) else None, alg)
        if key is None:
            raise AccessTokenError("The token is signed with a key the issuer does not publish.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwt.PyJWK(key, algorithm=alg),
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AccessTokenError("The token has expired.") from exc
        except (jwt.PyJWTError, jwt.PyJWKError) as exc:
            raise AccessTokenError(f"The token is invalid: {exc}.") from exc
        return claims

    @property
    def jwks_uri(self) -> str:
        if self._jwks_uri is None:
            document = self._get_json(discovery_url(self.issuer))
            if document.get("issuer") != self.issuer:
                raise ValueError(f"discovery names issuer {document.get('issuer')!r}")
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise ValueError("discovery names no jwks_uri")
            self._jwks_uri = jwks_uri
        return self._jwks_uri

    def _fetch_keys(self) -> list[dict[str, Any]]:
        try:
            keys = self._get_json(self.jwks_uri).get("keys")
            if not isinstance(keys, list):
                raise ValueError("the key set has no list of keys")
        except (OSError, ValueError) as exc:
            raise KeyUnavailable("The provider's signing keys cannot be fetched.") from exc
        return [k for k in keys if isinstance(k, dict)]

    def _get_json(self, url: str) -> dict[str, Any]:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self._http_timeout) as response:  # noqa: S310
            document = json.loads(response.read(1024 * 1024))
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer with a JSON object")
        return document


def _check_scopes(claims: dict[str, Any], scopes: Iterable[str]) -> None:
    required = tuple(scopes)
    missing = set(required) - token_scopes(claims)
    if missing:
        raise InsufficientScope(
            f"The token lacks the scope {' '.join(sorted(missing))}.", required=required
        )
