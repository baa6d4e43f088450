"""Django REST framework authentication with bearer access tokens, for your own API.

Only this module imports ``rest_framework``; the rest of the project works without it. ::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "accounts.resource_server.drf.AccessTokenAuthentication"
        ],
    }

``request.user`` is then a ``TokenUser`` (not a database user: the API trusts the token, not a
local account) and ``request.auth`` the token's claims.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.resource_server.bearer import bearer_token, token_scopes
from accounts.resource_server.conf import validator_from_settings
from accounts.resource_server.errors import AccessTokenError, TokenMissing
from accounts.resource_server.validator import AccessTokenValidator


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


class AccessTokenAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Accepts ``Authorization: Bearer <JWT access token>``; a request without one is left to
    the other authentication classes (and then to the permission classes)."""

    validator: AccessTokenValidator | None = None

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        try:
            token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        except TokenMissing:
            return None
        try:
            claims = (self.validator or validator_from_settings()).validate(token)
        except AccessTokenError as error:
            raise exceptions.AuthenticationFailed(error.description) from error
        return TokenUser(claims), claims

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) with this challenge when authentication fails.
        return 'Bearer realm="api"'
