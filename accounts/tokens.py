"""The token record: what the provider's token endpoint gave us, kept server-side.

This module is the only one that knows how tokens are stored. The record lives beside the session
(see ``accounts.session_store``), never in the session dict and never in a cookie.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from accounts.session_store import SessionStore

RECORD_NAME = "tokens"


@dataclass(frozen=True)
class TokenRecord:
    access_token: str
    id_token: str
    refresh_token: str | None
    token_type: str
    scope: str
    # Unix times. None when the provider did not say (a token response without expires_in).
    access_token_expires_at: float | None
    id_token_expires_at: float | None
    refresh_token_expires_at: float | None
    # The verified ID token claims: the session's cache of who the user is.
    claims: dict[str, Any] = field(default_factory=dict)
    obtained_at: float = 0.0

    @classmethod
    def from_token_response(
        cls, response: dict[str, Any], claims: dict[str, Any], *, now: float | None = None
    ) -> TokenRecord:
        now = time.time() if now is None else now
        return cls(
            access_token=str(response["access_token"]),
            id_token=str(response["id_token"]),
            refresh_token=_optional_str(response.get("refresh_token")),
            token_type=str(response.get("token_type", "Bearer")),
            scope=str(response.get("scope", "")),
            access_token_expires_at=_expires_at(response.get("expires_in"), now),
            id_token_expires_at=float(claims["exp"]) if "exp" in claims else None,
            # Non-standard but common (Keycloak, some Auth0 setups): the refresh token's lifetime.
            refresh_token_expires_at=_expires_at(response.get("refresh_expires_in"), now),
            claims=claims,
            obtained_at=now,
        )

    def public_claims(self) -> dict[str, Any]:
        wanted = accounts_settings.OIDC_PUBLIC_CLAIMS
        return {name: self.claims[name] for name in wanted if name in self.claims}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenRecord:
        return cls(**data)


def store_tokens(session: SessionBase, record: TokenRecord) -> None:
    _store(session).write_record(RECORD_NAME, record.to_json())


def load_tokens(session: SessionBase) -> TokenRecord | None:
    data = _store(session).read_record(RECORD_NAME)
    if not isinstance(data, dict):
        return None
    return TokenRecord.from_json(data)


def _store(session: SessionBase) -> SessionStore:
    if not isinstance(session, SessionStore):
        raise ImproperlyConfigured(
            "SESSION_ENGINE must be 'accounts.session_store': tokens are kept beside the session."
        )
    return session


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _expires_at(expires_in: Any, now: float) -> float | None:
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return None
    return now + seconds if seconds > 0 else None
