"""The cookie that ties a login in progress to the browser that began it.

One cookie per login, named after its state (a digest of it: short, and of a fixed alphabet
whatever the state looks like), holding when the login began and a random secret whose digest
is kept with the login's entry (``login_states``). The callback finds the cookie by the state
it is given and compares. Two tabs that begin a login at the same instant each get a cookie of
their own, so neither answer can overwrite the other's, as one session cookie would.

``HttpOnly``; ``Secure`` and ``__Host-`` (this exact origin, ``Path=/``, no ``Domain``) when the
session cookie is secure, i.e. when ``SITE_URL`` is https; ``SameSite=Lax``, since the
provider's redirect back to the callback is a top-level cross-site navigation, which ``Strict``
would send without it.

A browser holds at most ``MAX_LOGINS_PER_BROWSER`` of them: beginning one more drops the oldest,
whose login then ends on the "expired" page. Each is about 90 bytes, so eight stay far below
what browsers and servers accept in a ``Cookie`` header.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Eight tabs logging in at once is already more than a person does; more only fills the header.
MAX_LOGINS_PER_BROWSER = 8

_NAME = "login-"
_SECURE_NAME = "__Host-" + _NAME
# Either kind, so that after SITE_URL moves to https the plain ones are still counted (and
# dropped) too.
_ANY_NAME = re.compile(r"(__Host-)?login-[0-9a-f]{16}")


def _secure() -> bool:
    return bool(settings.SESSION_COOKIE_SECURE)


def cookie_name(state: str) -> str:
    digest = hashlib.sha256(state.encode()).hexdigest()[:16]
    return (_SECURE_NAME if _secure() else _NAME) + digest


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def bind(
    request: HttpRequest, response: HttpResponse, state: str, secret: str, max_age: int
) -> None:
    """Give the browser the cookie of login ``state``, and drop its oldest login cookies
    beyond the limit."""
    for name in cookies_to_drop(login_cookies(request.COOKIES), keep=MAX_LOGINS_PER_BROWSER - 1):
        forget_cookie(response, name)
    response.set_cookie(
        cookie_name(state),
        f"{time.time_ns() // 1000}.{secret}",
        max_age=max_age,
        path="/",
        secure=_secure(),
        httponly=True,
        samesite="Lax",
    )


def secret_of(request: HttpRequest, state: str) -> str | None:
    """The secret this browser holds for login ``state``, if any."""
    value = request.COOKIES.get(cookie_name(state), "")
    _, dot, secret = value.partition(".")
    return secret if dot and secret else None


def forget(request: HttpRequest, response: HttpResponse, state: str) -> None:
    """Delete the cookie of login ``state``, if the browser sent one."""
    name = cookie_name(state)
    if name in request.COOKIES:
        forget_cookie(response, name)


def forget_cookie(response: HttpResponse, name: str) -> None:
    # delete_cookie marks a __Host- cookie Secure itself, or the browser would ignore it.
    response.delete_cookie(name, path="/", samesite="Lax")


def login_cookies(cookies: Mapping[str, str]) -> dict[str, str]:
    """The login cookies among ``cookies``, by name (an empty one is a deleted one)."""
    return {name: value for name, value in cookies.items() if value and _ANY_NAME.fullmatch(name)}


def cookies_to_drop(found: Mapping[str, str], *, keep: int) -> list[str]:
    """The names of all but the ``keep`` newest login cookies in ``found`` (name -> value),
    oldest first. A value that does not say when its login began counts as the oldest."""

    def began(name: str) -> tuple[int, str]:
        stamp = found[name].partition(".")[0]
        return (int(stamp) if stamp.isdigit() else 0, name)

    newest_first = sorted(found, key=began, reverse=True)
    return sorted(newest_first[keep:], key=began)
