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

# A challenge starts with a scheme token that is not followed by "=" (that would be a parameter).
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*({_TCHARS})\s*=\s*({_TCHARS}|{_QUOTED})\s*(?:,|$)")
_SCHEME = re.compile(rf"\s*({_TCHARS})(?:\s+|$)(?!\s*=)")
_TOKEN68 = re.compile(r"\s*[A-Za-z0-9\-._~+/]+=*\s*(?:,|$)")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-cased
    params: dict[str, str] = field(default_factory=dict)  # names lower-cased, values unquoted


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """The challenges in one or more ``WWW-Authenticate`` values. What cannot be read ends the
    parse of that value: a broken header asks for nothing."""
    found: list[Challenge] = []
    for value in values:
        rest = value
        while rest.strip(" ,"):
            rest = rest.lstrip(" ,")
            scheme = _SCHEME.match(rest)
            if scheme is None:
                break
            rest = rest[scheme.end() :]
            params: dict[str, str] = {}
            while (param := _PARAM.match(rest)) is not None and not _starts_challenge(rest):
                name, raw = param.group(1).lower(), param.group(2)
                params[name] = _unquote(raw) if raw.startswith('"') else raw
                rest = rest[param.end() :]
            if not params and (token68 := _TOKEN68.match(rest)) and not _starts_challenge(rest):
                rest = rest[token68.end() :]
            found.append(Challenge(scheme.group(1).lower(), params))
    return found


def token_rejected(values: Iterable[str], scheme: str = "bearer") -> bool:
    """Whether a 401 with these ``WWW-Authenticate`` values says the token sent with ``scheme``
    (lower case) is bad."""
    return "invalid_token" in challenge_errors(values, scheme)


def challenge_errors(values: Iterable[str], scheme: str) -> set[str]:
    """The ``error`` of each ``scheme`` challenge (``invalid_token`` for one that names none)."""
    return {
        challenge.params.get("error", "invalid_token")
        for challenge in parse_challenges(values)
        if challenge.scheme == scheme
    }


def _starts_challenge(rest: str) -> bool:
    # "Bearer realm=x, Basic realm=y": after a comma, a token followed by a space (not "=")
    # begins the next challenge.
    return _SCHEME.match(rest) is not None and _PARAM.match(rest) is None


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])
