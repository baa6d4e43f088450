"""Ending a session on purpose: one place for the log line, the ``session_ended`` signal and the
hooks that the owners of its records register (the token owner revokes the refresh token).

Every end goes through here, so ``session_ended`` is sent once for each. A session ends either in
its own request: the user's logout (``log_out``), or a lifetime ran out, the refresh token was
rejected, the token record is unreadable (``end_session``, which then raises the
``SessionEnded`` the middleware renders); or from outside (``accounts.sessions.live``: the admin,
the user's own page, a back-channel logout), which then calls ``session_was_ended``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from django.contrib import auth
from django.http import HttpRequest

from accounts.exceptions import SessionEnded
from accounts.sessions.end_notices import publish_session_end
from accounts.sessions.records import Records
from accounts.sessions.store import SessionStore
from accounts.signals import EndReason, session_ended

logger = logging.getLogger(__name__)

# ``hook(records, reason)``: the ended session's records as read before it was deleted.
OnEnd = Callable[[Records, str], None]


@dataclass(frozen=True)
class _Hook:
    run: OnEnd
    also_in_request: bool


_hooks: dict[str, _Hook] = {}


def on_session_end(hook: OnEnd, *, also_in_request: bool = False) -> None:
    """Run ``hook(records, reason)`` after a session is ended on purpose and deleted.

    By default only for sessions ended from outside; ``also_in_request=True`` also when a
    session ends in its own request (``end_session``). Runs before the log line and the signal;
    a hook must not raise.
    """
    _hooks[f"{hook.__module__}.{hook.__qualname__}"] = _Hook(hook, also_in_request)


def end_session(request: HttpRequest, reason: EndReason, message: str) -> NoReturn:
    """Log the user out here, tell the hooks and listeners why, then raise ``SessionEnded``."""
    log_out(request, reason, sender=end_session)
    raise SessionEnded(message, reason=reason)


def log_out(
    request: HttpRequest, reason: EndReason, *, sender: Callable[..., Any] | None = None
) -> Records:
    """``auth.logout()`` for a session that ends in its own request, then the hooks that asked
    for in-request ends, the log line and ``session_ended``. Returns the records the session
    held (the logout view revokes with them). A request without a login ends nothing and sends
    nothing."""
    user = request.user
    session = request.session
    # The copies this request holds: no round trip, and what the logout is about to delete.
    held = session.records() if isinstance(session, SessionStore) else {}
    session_key = session.session_key
    auth.logout(request)
    if user.is_authenticated:
        session_was_ended(
            sender=sender or log_out,
            session_key=session_key,
            request=request,
            user=user,
            user_id=user.pk,
            reason=reason,
            records=held,
            in_request=True,
        )
    return held


def session_was_ended(
    *,
    sender: Callable[..., Any],
    session_key: str | None,
    request: HttpRequest | None,
    user: Any,
    user_id: object,
    reason: EndReason,
    records: Records,
    in_request: bool,
) -> None:
    """Tell this site's workers (its open sockets and streams close), run the hooks, log and
    send ``session_ended`` for a session already deleted."""
    if session_key:
        publish_session_end(session_key)
    for hook in _hooks.values():
        if hook.also_in_request or not in_request:
            hook.run(records, reason)
    logger.info("session ended: user %s, reason %s", user_id, reason)
    session_ended.send(sender=sender, request=request, user=user, reason=reason)
