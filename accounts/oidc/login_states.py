"""Logins in progress: one entry per login, apart from the session, tied to the browser by a
cookie of its own.

The callback needs what its login began with: the nonce and PKCE verifier, the page to return
to, and the step-up requirement to check the login against. mozilla-django-oidc keeps such
entries in the session dict (``oidc_states``), but the session is one value that every request
rewrites whole, so two logins begun at the same instant lose one: with no session yet, each
request creates its own and the browser keeps only one of the two cookies; with one, the later
save drops the other's entry. Either way one tab ends on "this login link has expired".

So each login has
- an entry of its own in Redis (the session cache), under a key named after its state, for
  ``OIDC_LOGIN_TIMEOUT`` seconds (15 minutes): written once by the login view, read and deleted
  once by the callback. Single-key ``SET``, ``GET`` and ``DEL`` only, so the keys may live on
  any node of a Redis Cluster. The ``DEL`` that deletes it is the one callback that spends it,
  so a replayed callback, even one racing the first, finds nothing;
- a cookie of its own (``login_cookies``) holding a random secret whose digest the entry keeps:
  the callback completes a login only in the browser that began it, so a state delivered to
  another browser (login CSRF: an attacker's login slipped into a victim's browser) is refused.

Why not the whole entry in an encrypted cookie, as nextjs-auth0 v4 keeps its transaction: it
would still need Redis to be spent only once, the browser would carry the verifier and nonce
(sealed, but sent with every request for as long as the login lasts), and its key would be one
more to rotate. Here the cookie holds only a secret, and Redis, which every request needs
anyway, holds the rest.

Beginning a login writes no session, and creates none: only the callback does, when it logs
the user in. Entries that logins begun before this design kept in the session (0.1: without
``next``, the page in the session-wide ``oidc_login_next``) are still honoured at the callback
while they last (an hour, the lifetime of a session before login).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, get_random_string
from mozilla_django_oidc.utils import generate_code_challenge

from accounts.conf import accounts_settings
from accounts.exceptions import LoginFailed
from accounts.oidc import login_cookies
from accounts.protocol.step_up import AuthenticationRequirement, InvalidRequirement
from accounts.sessions.store import redis_errors_as_unavailable

logger = logging.getLogger(__name__)

# Where logins begun before this design kept their entries, in the session: mozilla-django-oidc's
# keys, named once here.
STATES_KEY = "oidc_states"
NEXT_KEY = "oidc_login_next"

EXPIRED = "This login link has expired or was already used. Please start again."


@dataclass(frozen=True)
class PendingLogin:
    state: str
    nonce: str
    code_verifier: str
    # As stored: the views check it is a local path, on the way in and on the way out.
    next_path: str | None
    requirement: AuthenticationRequirement

    @classmethod
    def begin(cls, *, next_path: str, requirement: AuthenticationRequirement) -> PendingLogin:
        # The lengths mozilla-django-oidc uses; 64 characters is within PKCE's 43-128.
        return cls(
            state=get_random_string(32),
            nonce=get_random_string(32),
            code_verifier=get_random_string(64),
            next_path=next_path,
            requirement=requirement,
        )

    def authorization_parameters(self) -> dict[str, str]:
        """What the authorization request carries for this login (PKCE with S256)."""
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": generate_code_challenge(self.code_verifier, "S256"),
            "code_challenge_method": "S256",
        }


def entry_key(state: str) -> str:
    """The login's key in the session cache."""
    return "login-state:" + hashlib.sha256(state.encode()).hexdigest()


def remember_login(request: HttpRequest, response: HttpResponse, login: PendingLogin) -> None:
    """Keep ``login`` for its callback, and give the browser its cookie with ``response``."""
    secret = login_cookies.new_secret()
    timeout = accounts_settings.OIDC_LOGIN_TIMEOUT
    entry = {
        "nonce": login.nonce,
        "code_verifier": login.code_verifier,
        "next": login.next_path,
        "acr_values": list(login.requirement.acr_values),
        "max_age": login.requirement.max_age,
        "browser": _digest(secret),
    }
    with redis_errors_as_unavailable():
        _cache().set(entry_key(login.state), entry, timeout)
    login_cookies.bind(request, response, login.state, secret, timeout)


def take_login(request: HttpRequest, state: str) -> PendingLogin:
    """The login ``state``, spent: no later callback can use it.

    Raises ``LoginFailed`` when it is unknown, ran out, was spent already, or was begun in
    another browser.
    """
    key = entry_key(state)
    with redis_errors_as_unavailable():
        entry = _cache().get(key)
        if entry is None:
            return _take_from_session(request.session, state)
        if not _begun_here(request, state, entry):
            logger.warning("login callback in a browser that did not begin that login")
            raise LoginFailed(EXPIRED)
        if not _cache().delete(key):
            raise LoginFailed(EXPIRED)  # another callback of this login spent it just now
    return _login_from(state, entry, fallback_next=None)


def discard_login(request: HttpRequest, state: str) -> None:
    """Spend the login ``state`` without using it (the provider answered with an error), so
    that the error cannot be replayed into a later success; only in the browser that began it."""
    key = entry_key(state)
    with redis_errors_as_unavailable():
        entry = _cache().get(key)
        if entry is not None:
            if _begun_here(request, state, entry):
                _cache().delete(key)
            return
    states = request.session.get(STATES_KEY)
    if isinstance(states, dict) and state in states:
        del states[state]
        request.session.modified = True


def _begun_here(request: HttpRequest, state: str, entry: Any) -> bool:
    secret = login_cookies.secret_of(request, state)
    expected = entry.get("browser") if isinstance(entry, dict) else None
    if secret is None or not isinstance(expected, str):
        return False
    return constant_time_compare(_digest(secret), expected)


def _take_from_session(session: SessionBase, state: str) -> PendingLogin:
    # A login begun before entries moved out of the session: the session cookie ties it to the
    # browser. Spent and saved before the slow code exchange, as mozilla-django-oidc does.
    states = session.get(STATES_KEY)
    if not isinstance(states, dict) or state not in states:
        raise LoginFailed(EXPIRED)
    entry = states.pop(state)
    fallback = session.pop(NEXT_KEY, None) if isinstance(entry, dict) else None
    session.modified = True
    session.save()
    return _login_from(state, entry, fallback_next=fallback)


def _login_from(state: str, entry: Any, *, fallback_next: str | None) -> PendingLogin:
    try:
        nonce, verifier = entry["nonce"], entry["code_verifier"]
        requirement = AuthenticationRequirement(
            acr_values=tuple(entry.get("acr_values") or ()), max_age=entry.get("max_age")
        )
        next_path = entry.get("next", fallback_next)
    except (InvalidRequirement, TypeError, KeyError, AttributeError) as exc:
        # Only this code writes entries; fail closed rather than skip the login's checks.
        raise LoginFailed("This login link is not valid. Please start again.") from exc
    if not (isinstance(nonce, str) and isinstance(verifier, str)):
        raise LoginFailed("This login link is not valid. Please start again.")
    if not isinstance(next_path, str | None):
        next_path = None
    return PendingLogin(state, nonce, verifier, next_path, requirement)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _cache() -> Any:
    return caches[accounts_settings.SESSION_CACHE_ALIAS]
