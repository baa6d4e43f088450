"""What the async edge knows of a request, and what it hands back: plain data, no Django."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accounts.exceptions import AccountsError


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
    """The token to send (None: call anonymously), and the ``Set-Cookie`` values the session's
    upkeep produced, which the answer must carry whatever it is."""

    token: str | None
    set_cookies: list[str] = field(default_factory=list)


class EdgeError(Exception):
    """An ``AccountsError`` raised while getting the token, with the cookies to send anyway."""

    def __init__(self, error: AccountsError, set_cookies: list[str]) -> None:
        super().__init__(error.message)
        self.error = error
        self.set_cookies = set_cookies
