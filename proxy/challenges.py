"""Reading an upstream's ``WWW-Authenticate`` (RFC 9110 §11.6.1): does its 401 say the token is
bad, so that renewing it could help?

Only a challenge in the scheme the token was sent with (``Bearer``, or ``DPoP`` for an upstream
that takes DPoP-bound tokens, RFC 9449 §7.1) with ``error="invalid_token"``, or with no error at
all (RFC 6750 §3: a request the server did not accept a token from), asks for a new token.
``Basic``, another scheme, ``insufficient_scope`` or ``invalid_request``, or a 401 with no
challenge, are the upstream's own business: renewing would spend a refresh grant (and a
rotation) on every such call and change nothing. Pure functions of the header values; no
request, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# aiohttp refuses a header line longer than this on the ASGI path; the WSGI path (http.client
# allows 64 KiB a line, 100 lines) ignores a longer value the same way. No challenge is this long.
MAX_CHALLENGE_LENGTH = 8190
# A real answer holds one to three challenges; reading on would only cost time.
MAX_CHALLENGES = 16

# Every pattern matches in time linear in what it consumes (no two quantified parts can match
# the same character), and the parser only moves forward: a hostile header costs time in
# proportion to its length, never more.
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN = re.compile(_TCHARS)
_PARAM = re.compile(rf'({_TCHARS})[ \t]*=[ \t]*(?:({_TCHARS})|"([^"\\]*(?:\\.[^"\\]*)*)")[ \t]*')
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*[ \t]*")
_SPACE = re.compile(r"[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]*")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-cased
    params: dict[str, str] = field(default_factory=dict)  # names lower-cased, values unquoted


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """The challenges in one or more ``WWW-Authenticate`` values. What cannot be read ends the
    parse of that value: a broken header asks for nothing more than what came before the break.
    A value longer than ``MAX_CHALLENGE_LENGTH`` is ignored, and so is every challenge after
    the first ``MAX_CHALLENGES``."""
    found: list[Challenge] = []
    for value in values:
        if len(found) >= MAX_CHALLENGES:
            break
        if len(value) <= MAX_CHALLENGE_LENGTH:
            found.extend(_Parser(value).challenges(MAX_CHALLENGES - len(found)))
    return found


# The error that says the token is bad: the one among ``challenge_errors`` worth a renewal.
BAD_TOKEN_ERROR = "invalid_token"  # noqa: S105 (an OAuth error code, not a secret)


def challenge_errors(values: Iterable[str], scheme: str) -> set[str]:
    """The ``error`` of each ``scheme`` (lower case) challenge, ``BAD_TOKEN_ERROR`` for one that
    names none."""
    return {
        challenge.params.get("error", BAD_TOKEN_ERROR)
        for challenge in parse_challenges(values)
        if challenge.scheme == scheme
    }


class _Parser:
    """RFC 9110 section 11.6.1: ``#challenge``, where ``challenge = auth-scheme [ 1*SP ( token68
    / #auth-param ) ]`` and ``auth-param = token BWS "=" BWS ( token / quoted-string )``. After
    a comma comes the next parameter when one reads there, else the next challenge."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.pos = 0

    def challenges(self, limit: int) -> list[Challenge]:
        found: list[Challenge] = []
        value = self.value
        while len(found) < limit:
            self.pos = _SEPARATORS.match(value, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(value):
                return found
            scheme = _TOKEN.match(value, self.pos)
            if scheme is None or _PARAM.match(value, self.pos):
                return found  # not a scheme, or a parameter where a scheme belongs
            self.pos = scheme.end()
            params: dict[str, str] = {}
            found.append(Challenge(scheme.group().lower(), params))
            if not self._read_credentials(params):
                return found
        return found

    def _read_credentials(self, params: dict[str, str]) -> bool:
        """The token68 or the parameters after a scheme, into ``params``; False when the value
        cannot be read any further."""
        value = self.value
        after_scheme = self.pos
        self.pos = _SPACE.match(value, after_scheme).end()  # type: ignore[union-attr]
        if self._at_end_or_comma():
            return True
        if self.pos == after_scheme:
            return False  # a scheme that runs into something else: 'Bearer"x'
        param = _PARAM.match(value, self.pos)
        if param is None:
            token68 = _TOKEN68.match(value, self.pos)
            if token68 is None:
                return False
            self.pos = token68.end()
            return self._at_end_or_comma()
        while param is not None:
            name, token, quoted = param.groups()
            params[name.lower()] = token if token is not None else _unquote(quoted)
            self.pos = param.end()
            if not self._at_end_or_comma():
                return False
            self.pos = _SEPARATORS.match(value, self.pos).end()  # type: ignore[union-attr]
            param = _PARAM.match(value, self.pos)
        return True  # the next challenge, or the end, begins here

    def _at_end_or_comma(self) -> bool:
        return self.pos >= len(self.value) or self.value[self.pos] == ","


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted) if "\\" in quoted else quoted
