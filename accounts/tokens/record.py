"""The token record: what the provider's token endpoint gave us, kept server-side.

This module is the only one that knows the record's shape (it builds it from the login's answer
and from each refresh's) and how it is stored. The record lives beside the session (see
``accounts.sessions.store``), never in the session dict and never in a cookie.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import jwt
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from accounts.exceptions import TokenRecordUnreadable
from accounts.oidc.token_endpoint import sendable_token
from accounts.protocol.times import lifetime, numeric_date
from accounts.sessions import records
from accounts.sessions.store import SessionStore
from accounts.tokens.cipher import decrypt_record, encrypt_record
from accounts.tokens.credential import BEARER, AccessCredential

RECORD_NAME = "tokens"
records.register_record(RECORD_NAME)  # kept beside the session, never in it


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
    # Access tokens for other APIs, by ApiTarget.key: {"access_token": ..., "expires_at": ...,
    # "obtained_at": ..., "token_type": ..., "forced_at": ...}; no "token_type" (entries
    # written before it was kept) means Bearer.
    audience_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    # When an upstream's rejection last renewed the main access token (0: never).
    forced_at: float = 0.0

    @classmethod
    def from_token_response(
        cls, response: dict[str, Any], claims: dict[str, Any], *, now: float | None = None
    ) -> TokenRecord:
        now = time.time() if now is None else now
        return cls(
            access_token=str(response["access_token"]),
            id_token=str(response["id_token"]),
            refresh_token=_optional_str(response.get("refresh_token")),
            token_type=str(response.get("token_type", BEARER)),
            scope=str(response.get("scope", "")),
            access_token_expires_at=_access_token_expiry(response, now),
            id_token_expires_at=numeric_date(claims.get("exp")),
            # Non-standard but common (Keycloak, some Auth0 setups): the refresh token's lifetime.
            refresh_token_expires_at=_expires_at(response.get("refresh_expires_in"), now),
            claims=claims,
            obtained_at=now,
        )

    def renewed_with(
        self, answer: dict[str, Any], *, claims: dict[str, Any] | None, now: float
    ) -> TokenRecord:
        """The record after a refresh of the main access token, from the token endpoint's
        checked ``answer``. ``claims`` are those of the ID token the answer brought, verified;
        None when it brought none, and the old ID token stands.

        What the answer leaves out stands too: the refresh token (RFC 6749 section 6: keep using
        the old one), the scope, the refresh token's deadline. Tokens held for other APIs stay.
        """
        id_token, claims = (
            (str(answer["id_token"]), claims)
            if claims is not None
            else (self.id_token, self.claims)
        )
        return TokenRecord(
            access_token=str(answer["access_token"]),
            id_token=id_token,
            refresh_token=_optional_str(answer.get("refresh_token") or self.refresh_token),
            token_type=str(answer.get("token_type", BEARER)),
            scope=str(answer.get("scope", self.scope)),
            access_token_expires_at=_access_token_expiry(answer, now),
            id_token_expires_at=numeric_date(claims.get("exp")),
            refresh_token_expires_at=(
                _expires_at(answer["refresh_expires_in"], now)
                if "refresh_expires_in" in answer
                else self.refresh_token_expires_at
            ),
            claims=claims,
            obtained_at=now,
            audience_tokens=self.audience_tokens,
        )

    def with_audience_token(
        self, key: str, answer: dict[str, Any], *, claims: dict[str, Any] | None, now: float
    ) -> TokenRecord:
        """The record holding the access token in ``answer`` for another API, under ``key``.

        The refresh that brought it may have rotated the refresh token and renewed the ID token
        (``claims`` as in ``renewed_with``); the main access token is untouched.
        """
        entry = {
            "access_token": answer["access_token"],
            "expires_at": _access_token_expiry(answer, now),
            "obtained_at": now,
            # "DPoP" when the provider bound it to the site's DPoP key (RFC 9449).
            "token_type": str(answer.get("token_type", BEARER)),
        }
        return replace(
            self,
            refresh_token=_optional_str(answer.get("refresh_token") or self.refresh_token),
            id_token=str(answer["id_token"]) if claims is not None else self.id_token,
            claims=claims if claims is not None else self.claims,
            audience_tokens={**self.audience_tokens, key: entry},
        )

    def forced_renewal_at(self, key: str | None) -> float:
        """When an upstream's rejection last renewed the main token (``key`` None) or the
        token for another API; 0 if never."""
        if key is None:
            return self.forced_at
        return float(self.audience_tokens.get(key, {}).get("forced_at", 0.0))

    def with_forced_renewal(self, key: str | None, *, now: float) -> TokenRecord:
        """The record noting that an upstream's rejection renewed this token ``now``."""
        if key is None:
            return replace(self, forced_at=now)
        entry = {**self.audience_tokens[key], "forced_at": now}
        return replace(self, audience_tokens={**self.audience_tokens, key: entry})

    @property
    def credential(self) -> AccessCredential:
        """The main access token, with the type the provider gave it."""
        return AccessCredential(self.access_token, self.token_type)

    def public_claims(self) -> dict[str, Any]:
        wanted = accounts_settings.OIDC_PUBLIC_CLAIMS
        return {name: self.claims[name] for name in wanted if name in self.claims}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenRecord:
        try:
            record = cls(**data)
        except TypeError as exc:  # a record written by an incompatible version
            raise TokenRecordUnreadable("The stored tokens have an unknown format.") from exc
        # Earlier versions kept whatever expiry a provider's answer implied (1e300, Infinity),
        # which no page can show: such an expiry is read as unknown.
        return _sendable_only(
            replace(
                record,
                access_token_expires_at=_stored_time(record.access_token_expires_at),
                id_token_expires_at=_stored_time(record.id_token_expires_at),
                refresh_token_expires_at=_stored_time(record.refresh_token_expires_at),
            )
        )

    def access_token_expired(self, *, now: float) -> bool:
        """True when the access token has expired; False if its expiry is unknown."""
        expires_at = self.access_token_expires_at
        return expires_at is not None and expires_at <= now

    def access_token_due(self, *, now: float, skew: float) -> bool:
        """Whether the access token is due for renewal (see ``renewal_due``)."""
        return renewal_due(self.access_token_expires_at, self.obtained_at, now=now, skew=skew)

    def audience_token(self, key: str, *, now: float, skew: float = 0) -> AccessCredential | None:
        """The access token held for another API, with its own type, unless it is due."""
        entry = self.audience_tokens.get(key)
        obtained_at = float(entry.get("obtained_at", 0.0)) if entry else 0.0
        if not entry or renewal_due(entry.get("expires_at"), obtained_at, now=now, skew=skew):
            return None
        return self.audience_credential(key)

    def audience_credential(self, key: str) -> AccessCredential:
        """The access token held for another API, due or not; ``KeyError`` if none is."""
        entry = self.audience_tokens[key]
        return AccessCredential(str(entry["access_token"]), str(entry.get("token_type", BEARER)))


def renewal_due(expires_at: float | None, obtained_at: float, *, now: float, skew: float) -> bool:
    """Whether a token expiring at ``expires_at`` should be renewed ``now``.

    It is renewed ``skew`` seconds before it expires, but never earlier than half-way through
    its life: a provider issuing 30-second tokens to a site whose skew is 60 would otherwise
    see every token, the one just issued included, as due, and every request would renew it
    again. An unknown expiry is never due (an upstream's rejection renews such a token); an
    unknown ``obtained_at`` (0, records written before it was kept) leaves the skew as it is.
    """
    if expires_at is None:
        return False
    effective = skew
    if obtained_at > 0:
        effective = min(skew, max(expires_at - obtained_at, 0.0) / 2)
    return now >= expires_at - effective


def _access_token_expiry(response: dict[str, Any], now: float) -> float | None:
    """From ``expires_in``, else from a JWT access token's ``exp``, else unknown."""
    return _expires_at(response.get("expires_in"), now) or _jwt_expiry(
        str(response["access_token"])
    )


def store_tokens(session: SessionBase, record: TokenRecord) -> None:
    """Write the record, encrypted. Only login and the refresh lock's holder call this."""
    # Replicated before the request goes on: losing this write in a failover would bring back
    # a refresh token the provider has already rotated, and the next refresh would revoke the
    # grant.
    _store(session).write_record(RECORD_NAME, encrypt_record(record.to_json()), replicate=True)


def load_tokens(session: SessionBase, *, fresh: bool = False) -> TokenRecord | None:
    """The session's token record, or None. ``fresh=True`` reads Redis again (under a lock).

    Raises ``TokenRecordUnreadable`` when it exists but cannot be decrypted or parsed.
    """
    store = _store(session)
    blob = store.read_record(RECORD_NAME, fresh=fresh)
    if blob is None:
        return None
    if not isinstance(blob, str):
        raise TokenRecordUnreadable("The stored tokens have an unknown format.")
    # The middleware and then the view (the proxy) both ask within one request: decrypt once.
    cached = store.decoded.get(RECORD_NAME)
    if cached is not None and cached[0] == blob:
        return cached[1]  # type: ignore[no-any-return]
    record = TokenRecord.from_json(decrypt_record(blob))
    store.decoded[RECORD_NAME] = (blob, record)
    return record


def _store(session: SessionBase) -> SessionStore:
    if not isinstance(session, SessionStore):
        raise ImproperlyConfigured(
            "SESSION_ENGINE must be 'accounts.sessions.store': tokens are kept beside the session."
        )
    return session


def _jwt_expiry(token: str) -> float | None:
    """``exp`` of a JWT access token, read without verification.

    Used only to schedule a refresh when the token response has no ``expires_in``; the token
    is not trusted for anything here (the API it is for verifies it). An opaque token yields None:
    the expiry is unknown and the token is renewed when an upstream rejects it.
    """
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.InvalidTokenError:
        return None
    return numeric_date(exp)


def _sendable_only(record: TokenRecord) -> TokenRecord:
    """``record`` without the access tokens no request can carry, which earlier versions kept
    as a provider sent them: outside visible ASCII, neither an Authorization header nor a DPoP
    proof (which hashes the token's ASCII) takes one, and every call with it failed. The main
    one is read as expired when it came, so it is renewed before any use (or, with nothing to
    renew it with, the user logs in again); one held for another API is forgotten, and
    fetched again when asked for."""
    audience_tokens = {
        key: entry
        for key, entry in record.audience_tokens.items()
        if sendable_token("access_token", entry.get("access_token"))
    }
    usable = sendable_token("access_token", record.access_token)
    if usable and len(audience_tokens) == len(record.audience_tokens):
        return record
    expires_at = record.access_token_expires_at if usable else record.obtained_at
    return replace(record, access_token_expires_at=expires_at, audience_tokens=audience_tokens)


def _stored_time(value: float | None) -> float | None:
    return value if value is None else numeric_date(value)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _expires_at(expires_in: Any, now: float) -> float | None:
    # An odd lifetime (10**400, "1e400", NaN) is as good as none: the expiry is unknown.
    seconds = lifetime(expires_in)
    return None if seconds is None else now + seconds
