"""Why a bearer token is refused, and how each refusal is told to the client (RFC 6750 section 3):
the status, the ``WWW-Authenticate`` challenge and a JSON body. Free of Django."""

from __future__ import annotations

from collections.abc import Iterable


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


class NotConfigured(AccessTokenError):
    """The API has no issuer or audience to check tokens against (``RESOURCE_SERVER_*``): the
    token cannot be checked, so it is refused, as when the keys cannot be fetched. The system
    check ``accounts.E020`` names the setting before any request comes."""

    status = 503
    error = "temporarily_unavailable"
