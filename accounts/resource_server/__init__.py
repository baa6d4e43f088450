"""Validating bearer access tokens in your own API (the resource server side).

The proxy sends the user's access token to your API; the API must still check it: signature
with the provider's published keys, ``iss``, ``aud`` (this API), ``exp``/``iat``/``nbf`` with a
little leeway, and the algorithm pinned, so ``none`` or an HMAC keyed with the public key never
passes. Keys are cached per process and refetched on an unknown ``kid`` at most every
``min_refetch_interval`` seconds.

The core, ``AccessTokenValidator``, needs neither Django nor a configured project (the sample API
in ``dev/sample_api`` is plain WSGI). For Django views there is ``require_access_token``; for
Django REST framework, ``accounts.resource_server.drf.AccessTokenAuthentication``.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

import jwt

from accounts.protocol.discovery import discovery_url
from accounts.protocol.key_selection import names_foreign_key
from accounts.protocol.key_sets import KeySetCache


class AccessTokenError(Exception):
    """The request's bearer token is missing or unacceptable (RFC 6750 §3.1 ``invalid_token``)."""

    status = 401
    error: str | None = "invalid_token"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def www_authenticate(self) -> str:
        if self.error is None:
            # No token at all: RFC 6750 §3.1 says the challenge carries no error code.
            return 'Bearer realm="api"'
        # A quoted-string may not hold '"' or '\\' unescaped (RFC 9110 §5.6.4); keep it plain.
        description = self.description.replace('"', "'").replace("\\", "/")
        return f'Bearer realm="api", error="{self.error}", error_description="{description}"'

    def as_json(self) -> dict[str, str]:
        return {"error": self.error or "token_missing", "message": self.description}


class TokenMissing(AccessTokenError):
    error = None


class InsufficientScope(AccessTokenError):
    status = 403
    error = "insufficient_scope"

    def __init__(self, description: str, *, required: Iterable[str]) -> None:
        super().__init__(description)
        self.required = tuple(required)

    def www_authenticate(self) -> str:
        return f'{super().www_authenticate()}, scope="{" ".join(self.required)}"'


class KeyUnavailable(AccessTokenError):
    """The provider's keys could not be fetched: the token cannot be checked, so it is refused."""

    status = 503
    error = "temporarily_unavailable"


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing("The request has no bearer token.")
    return token.strip()


def token_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes granted by a token: ``scope`` (RFC 9068, space-separated) or ``scp`` (a list)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(str(s) for s in scp)
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()


class AccessTokenValidator:
    """Checks JWT access tokens (RFC 9068) issued by ``issuer`` for ``audience``.

    ``jwks_uri`` defaults to the one in the issuer's discovery document, whose ``issuer`` must
    match exactly. Safe to share between threads; make one per API and keep it.
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
    ) -> None:
        if not issuer or not audience:
            raise ValueError("an access token validator needs an issuer and an audience")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.require_at_jwt_type = require_at_jwt_type
        self._jwks_uri = jwks_uri
        self._http_timeout = http_timeout
        self._keys = KeySetCache(
            self._fetch_keys,
            ttl=jwks_ttl,
            min_refetch_interval=min_refetch_interval,
            unavailable=(KeyUnavailable,),
        )

    def validate(self, token: str, *, scopes: Iterable[str] = ()) -> dict[str, Any]:
        """The token's claims, or ``AccessTokenError`` saying why it is refused."""
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
        missing = set(scopes) - token_scopes(claims)
        if missing:
            raise InsufficientScope(
                f"The token lacks the scope {' '.join(sorted(missing))}.", required=scopes
            )
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


# --- Django -----------------------------------------------------------------------------------

_validators: dict[tuple[str, str, tuple[str, ...]], AccessTokenValidator] = {}
_validators_lock = threading.Lock()


def validator_from_settings() -> AccessTokenValidator:
    """The validator for this project's settings: ``RESOURCE_SERVER_ISSUER`` (default
    ``OIDC_ISSUER``), ``RESOURCE_SERVER_AUDIENCE`` (default ``OIDC_AUDIENCE``) and
    ``RESOURCE_SERVER_ALGORITHMS`` (default ``("RS256",)``). One per distinct value, so keys stay
    cached and ``override_settings`` still works."""
    from django.conf import settings

    issuer = str(getattr(settings, "RESOURCE_SERVER_ISSUER", "") or settings.OIDC_ISSUER)
    audience = str(
        getattr(settings, "RESOURCE_SERVER_AUDIENCE", "") or getattr(settings, "OIDC_AUDIENCE", "")
    )
    algorithms = tuple(getattr(settings, "RESOURCE_SERVER_ALGORITHMS", ("RS256",)))
    key = (issuer, audience, algorithms)
    with _validators_lock:
        if key not in _validators:
            _validators[key] = AccessTokenValidator(
                issuer=issuer, audience=audience, algorithms=algorithms
            )
        return _validators[key]


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., Any])


def require_access_token(
    *, scopes: Iterable[str] = (), validator: AccessTokenValidator | None = None
) -> Callable[[ViewFunc], ViewFunc]:
    """Decorator for a Django view of your API: refuses the request (401 or 403 JSON, with
    ``WWW-Authenticate``) unless it carries a valid access token with ``scopes``. The claims are
    then in ``request.access_token_claims``. ::

        @require_access_token(scopes=["read:notes"])
        def notes(request): ...
    """
    required = tuple(scopes)

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            from django.http import JsonResponse

            checker = validator or validator_from_settings()
            try:
                token = bearer_token(request.headers.get("Authorization"))
                claims = checker.validate(token, scopes=required)
            except AccessTokenError as error:
                response = JsonResponse(error.as_json(), status=error.status)
                response["WWW-Authenticate"] = error.www_authenticate()
                response["Cache-Control"] = "no-store"
                return response
            request.access_token_claims = claims
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorate
