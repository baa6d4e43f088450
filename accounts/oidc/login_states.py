"""One entry per login in progress: where it goes back to, and what it asked the provider for.

mozilla-django-oidc keeps a dict of logins in progress in the session, ``oidc_states``: state ->
nonce, PKCE verifier and when it began, up to ``OIDC_MAX_STATES`` (50) of them, the oldest
dropped first. The page to return to and the step-up requirement go into the same entry, so two
tabs that start a login each come back to their own page, in whichever order they finish, and
each login is checked against what it asked for. (Before 0.2.0 the page was one session value,
``oidc_login_next``, and the second tab's login overwrote the first's; a login begun then still
returns there.)
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from accounts.exceptions import LoginFailed
from accounts.protocol.step_up import AuthenticationRequirement, InvalidRequirement

# mozilla-django-oidc's session keys, named once here.
STATES_KEY = "oidc_states"
NEXT_KEY = "oidc_login_next"


@dataclass(frozen=True)
class LoginState:
    # As stored: the views check it is a local path, on the way in and on the way out.
    next_path: str | None
    requirement: AuthenticationRequirement


def started_logins(session: SessionBase) -> Set[str]:
    """The states of the logins in progress in ``session``."""
    states = session.get(STATES_KEY)
    return set(states) if isinstance(states, dict) else set()


def remember_login(
    session: SessionBase,
    known_before: Set[str],
    *,
    next_path: str,
    requirement: AuthenticationRequirement,
) -> None:
    """Write ``next_path`` and ``requirement`` into the entry of the login that was just begun:
    the one state that is in the session now and was not in ``known_before``."""
    states: dict[str, Any] = session[STATES_KEY]
    for state in set(states) - known_before:
        states[state].update(
            next=next_path,
            acr_values=list(requirement.acr_values),
            max_age=requirement.max_age,
        )
    session.modified = True


def login_state(session: SessionBase, state: str) -> LoginState:
    """What the login ``state`` (known to be in progress) asked for."""
    entry = session[STATES_KEY][state]
    if "next" not in entry:
        return LoginState(session.get(NEXT_KEY), AuthenticationRequirement())
    try:
        requirement = AuthenticationRequirement(
            acr_values=tuple(entry.get("acr_values") or ()), max_age=entry.get("max_age")
        )
    except (InvalidRequirement, TypeError) as exc:
        # Only this code writes the entry; fail closed rather than skip the login's check.
        raise LoginFailed("This login link is not valid. Please start again.") from exc
    return LoginState(entry["next"], requirement)
