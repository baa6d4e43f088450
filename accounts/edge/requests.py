"""What the async edge knows of a request, and what it hands back: plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accounts.exceptions import AccountsError
from accounts.tokens.credential import BEARER, AccessCredential


@dataclass(frozen=True)
class EdgeRequest:
    """What the token rules need to know of a request that is not Django's."""

    method: str
    path: str  # decoded, as Django's request.path
    query_string: str
    headers: Mapping[str, str]  # lower-case names
    client: str
    scheme: str
    session_cookie: str | None


@dataclass
class EdgeToken:
    """The token to send (None: call anonymously) and its ``token_type`` (read from the same
    record: "DPoP" for a DPoP-bound one), and the ``Set-Cookie`` values the session's upkeep
    produced, which the answer must carry whatever it is."""

    token: str | None
    set_cookies: list[str] = field(default_factory=list)
    token_type: str = BEARER

    @classmethod
    def of(cls, credential: AccessCredential | None, set_cookies: list[str]) -> EdgeToken:
        if credential is None:
            return cls(None, set_cookies)
        return cls(credential.token, set_cookies, credential.token_type)

    @property
    def credential(self) -> AccessCredential | None:
        """The token with its type, which says how to send it (``headers_for``)."""
        return None if self.token is None else AccessCredential(self.token, self.token_type)


class EdgeError(Exception):
    """An ``AccountsError`` raised while getting the token, with the cookies to send anyway."""

    def __init__(self, error: AccountsError, set_cookies: list[str]) -> None:
        super().__init__(error.message)
        self.error = error
        self.set_cookies = set_cookies
