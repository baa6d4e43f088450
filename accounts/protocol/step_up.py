"""Step-up authentication, free of Django and of I/O: what a page or an API may require of the
login behind a session, and whether a login meets it.

A requirement names acceptable authentication context classes (``acr``, OIDC Core §2) in order
of preference, a maximum age of the authentication (``auth_time``), or both. The login request
carries them as ``acr_values`` and ``max_age`` (OIDC Core §3.1.2.1); a resource server asks for
them in an RFC 9470 challenge. ``acr_values`` is a voluntary claim: a provider may authenticate
the user some other way and say so, so whatever comes back is checked with ``shortfall``, the
same rule that decides later whether the session still meets a requirement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from accounts.protocol.times import numeric_date

# acr values are opaque strings, in practice URIs ("urn:...", "http://schemas.openid.net/...")
# or short words ("gold", "c1"). They travel in URLs, JSON and pages: the characters of a URI
# and nothing else (no space, quote, backslash, angle bracket or control character).
_ACR_VALUE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]{1,200}")
MAX_ACR_VALUES = 10
MAX_ACR_LENGTH = 200
_DIGITS = re.compile(r"[0-9]{1,10}")

Shortfall = Literal[
    "acr_missing", "acr_not_accepted", "auth_time_missing", "auth_time_ahead", "auth_too_old"
]


class InvalidRequirement(ValueError):
    """An acr value or a max_age that cannot be asked for; the message says which."""


@dataclass(frozen=True)
class AuthenticationRequirement:
    """``acr_values``: any of these will do, the first preferred (empty: any); ``max_age``: the
    login must be at most this many seconds old (None: any age)."""

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None

    def __post_init__(self) -> None:
        if len(self.acr_values) > MAX_ACR_VALUES:
            raise InvalidRequirement(f"at most {MAX_ACR_VALUES} acr values may be required")
        for value in self.acr_values:
            if not isinstance(value, str) or not _ACR_VALUE.fullmatch(value):
                raise InvalidRequirement(
                    f"acr value {value!r} is not a token of URI characters (at most 200)"
                )
        age = self.max_age
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
            raise InvalidRequirement(f"max_age must be a whole number of seconds >= 0, not {age!r}")

    def __bool__(self) -> bool:
        return bool(self.acr_values) or self.max_age is not None

    @classmethod
    def from_settings(
        cls, acr: str | Sequence[str] | None = None, max_age: int | None = None
    ) -> AuthenticationRequirement:
        """From a decorator's or an upstream's settings: ``acr`` one value, a space-separated
        string of them, or a list."""
        if acr is None:
            values: tuple[str, ...] = ()
        elif isinstance(acr, str):
            values = tuple(acr.split())
            if not values:
                raise InvalidRequirement("acr must name at least one value")
        elif isinstance(acr, Sequence) and acr and all(isinstance(v, str) for v in acr):
            values = tuple(acr)
        else:
            raise InvalidRequirement(
                f"acr must be a string or a non-empty list of strings, not {acr!r}"
            )
        return cls(acr_values=values, max_age=max_age)

    @classmethod
    def from_parameters(
        cls, acr_values: str | None, max_age: str | None
    ) -> AuthenticationRequirement:
        """From request parameters as a login URL or an RFC 9470 challenge carries them: a
        space-separated ``acr_values`` and a decimal ``max_age``; absent or empty, not asked."""
        if max_age is None or max_age == "":
            age = None
        elif _DIGITS.fullmatch(max_age):
            age = int(max_age)
        else:
            raise InvalidRequirement("max_age must be a whole number of seconds >= 0")
        # Space-delimited (OIDC Core 3.1.2.1), and a second space adds no empty value: links and
        # challenges written by hand have them. Only spaces: "a\nb" is one (refused) value.
        values = tuple(value for value in (acr_values or "").split(" ") if value)
        return cls(acr_values=values, max_age=age)

    def login_parameters(self) -> dict[str, str]:
        """The authorization request's parameters (and the login URL's) that ask for this."""
        params: dict[str, str] = {}
        if self.acr_values:
            params["acr_values"] = " ".join(self.acr_values)
        if self.max_age is not None:
            params["max_age"] = str(self.max_age)
        return params


@dataclass(frozen=True)
class Authentication:
    """What a login's ID token says of it: the context class it met (``acr``), and when the
    user authenticated (``auth_time``, seconds since the epoch). None: the token did not say."""

    acr: str | None = None
    auth_time: float | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Authentication:
        """What ``claims`` say, where they say it in a usable form: an ``acr`` that is a short
        printable string, an ``auth_time`` that is a NumericDate (``times.numeric_date``).
        Anything else is as if the token had not said it: a requirement then falls short,
        and nothing odd is kept or shown."""
        acr = claims.get("acr")
        usable_acr = isinstance(acr, str) and 0 < len(acr) <= MAX_ACR_LENGTH and acr.isprintable()
        return cls(acr=acr if usable_acr else None, auth_time=numeric_date(claims.get("auth_time")))

    def believable(self, *, now: float, leeway: float) -> Authentication:
        """This, without an ``auth_time`` still to come ``now``: a login "made" in the future
        would stay recent for ever. What a session keeps of its login."""
        if self.auth_time is not None and self.auth_time > now + leeway:
            return Authentication(acr=self.acr)
        return self

    def to_json(self) -> dict[str, Any]:
        return {"acr": self.acr, "auth_time": self.auth_time}


def shortfall(
    requirement: AuthenticationRequirement,
    authentication: Authentication,
    *,
    now: float,
    leeway: float,
) -> Shortfall | None:
    """Why ``authentication`` does not meet ``requirement`` ``now``, or None when it does.

    ``leeway`` covers the provider's clock being ahead or behind ours, and the seconds a login
    takes to come back: without it a page requiring ``max_age=0`` could never be reached.
    """
    if requirement.acr_values:
        if authentication.acr is None:
            return "acr_missing"
        if authentication.acr not in requirement.acr_values:
            return "acr_not_accepted"
    if requirement.max_age is not None:
        if authentication.auth_time is None:
            return "auth_time_missing"
        # A time to come would keep a login "recent" for ever.
        if authentication.auth_time > now + leeway:
            return "auth_time_ahead"
        if now - authentication.auth_time > requirement.max_age + leeway:
            return "auth_too_old"
    return None
