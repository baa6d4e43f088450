"""Django REST framework authentication with bearer access tokens, and a scope permission, for
your own API.

Only this module imports ``rest_framework``; the rest of the project works without it
(``pip install "oidc-bff[drf]"``). ::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "accounts.resource_server.drf.AccessTokenAuthentication"
        ],
    }

    class Notes(APIView):
        permission_classes = [HasScopes]
        required_scopes = ["read:notes"]

``request.user`` is then a ``TokenUser`` (not a database user: the API trusts the token, not a
local account) and ``request.auth`` the token's claims. Bearer tokens and DPoP-bound ones with
their proof (``Authorization: DPoP`` and a ``DPoP`` header) are both taken, as
``RESOURCE_SERVER_DPOP_*`` says. Refusals are RFC 6750's and RFC 9449's: 401 with
``WWW-Authenticate: Bearer error="invalid_token"`` for a bad token (``DPoP
error="invalid_dpop_proof"`` for a bad proof; a bare challenge when there was no token), 403
with ``error="insufficient_scope"`` and the scopes needed, 503 when the token cannot be checked
(keys unreachable, no issuer or audience configured, the replay cache down). Server nonces are
not offered here: DRF has no way to add their ``DPoP-Nonce`` header to a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.resource_server.bearer import presented_token, token_scopes
from accounts.resource_server.conf import dpop_headers, request_url, validator_from_settings
from accounts.resource_server.errors import (
    AccessTokenError,
    InsufficientScope,
    TokenMissing,
)
from accounts.resource_server.validator import AccessTokenValidator

# Where authenticate() leaves its refusal for authenticate_header(), which DRF calls with the
# same request to make the 401's challenge.
_REFUSAL = "_access_token_refusal"


class TokenUser:
    """The caller, as the access token describes it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self.sub = str(claims["sub"])
        self.scopes = token_scopes(claims)

    @property
    def pk(self) -> str:
        return self.sub

    def __str__(self) -> str:
        return self.sub


class TokenNotCheckable(exceptions.APIException):  # type: ignore[misc]
    """503: the token could not be checked (keys unreachable, the API not configured)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "temporarily_unavailable"


class ScopeMissing(exceptions.PermissionDenied):  # type: ignore[misc]
    """403 with the ``insufficient_scope`` challenge: DRF's exception handler sends any
    exception's ``auth_header`` as ``WWW-Authenticate``."""

    default_code = "insufficient_scope"

    def __init__(self, refusal: InsufficientScope) -> None:
        super().__init__(refusal.description, code="insufficient_scope")
        self.auth_header = refusal.www_authenticate()


class AccessTokenAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Accepts ``Authorization: Bearer <JWT access token>``, or ``DPoP <token>`` with its proof;
    a request without either is left to the other authentication classes (and then to the
    permission classes)."""

    validator: AccessTokenValidator | None = None

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        authorization = request.META.get("HTTP_AUTHORIZATION")
        try:
            presented_token(authorization)
        except TokenMissing:
            return None
        try:
            claims = (self.validator or validator_from_settings()).validate_request(
                authorization=authorization,
                dpop=dpop_headers(request),
                method=request.method,
                url=request_url(request),
            )
        except AccessTokenError as refusal:
            if refusal.status != status.HTTP_401_UNAUTHORIZED:
                raise TokenNotCheckable(refusal.description) from refusal
            setattr(request, _REFUSAL, refusal)
            raise exceptions.AuthenticationFailed(refusal.description) from refusal
        return TokenUser(claims), claims

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) with this challenge: the refusal's own when a token was
        # refused, else the bare one (no error code when no token was sent, RFC 6750 §3.1),
        # naming DPoP too when the API takes it.
        refusal: AccessTokenError | None = getattr(request, _REFUSAL, None)
        if refusal is None:
            try:
                refusal = (self.validator or validator_from_settings()).missing_token()
            except AccessTokenError:
                refusal = TokenMissing("")
        return refusal.www_authenticate()


class HasScopes(BasePermission):  # type: ignore[misc]
    """Lets a request through when its access token grants every scope the view names in
    ``required_scopes``; else 403 ``insufficient_scope`` (RFC 6750 section 3.1). A request that
    no access token authenticated is refused as ``IsAuthenticated`` refuses it (401).

    ``HasScopes.require("write:notes")`` makes a permission with its own scopes, for a view whose
    methods need different ones: ``permission_classes = [HasScopes.require("write:notes")]``.
    """

    scopes: tuple[str, ...] = ()

    @classmethod
    def require(cls, *scopes: str) -> type[HasScopes]:
        return type(f"HasScopes_{'_'.join(scopes)}", (cls,), {"scopes": scopes})

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, TokenUser):
            return False  # DRF answers 401 with the authenticator's challenge
        required = self.scopes or tuple(_scopes_of(view))
        missing = set(required) - user.scopes
        if missing:
            raise ScopeMissing(
                InsufficientScope(
                    f"The token lacks the scope {' '.join(sorted(missing))}.", required=required
                )
            )
        return True


def _scopes_of(view: Any) -> Iterable[str]:
    scopes = getattr(view, "required_scopes", None)
    if scopes is None:
        raise TypeError(f"{type(view).__name__} uses HasScopes but names no required_scopes")
    return (scopes,) if isinstance(scopes, str) else tuple(scopes)
