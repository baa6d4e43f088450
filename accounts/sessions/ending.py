"""Ending the current request's session for a reason: one place for the logout, the log line,
the ``session_ended`` signal and the ``SessionEnded`` the middleware renders."""

from __future__ import annotations

import logging
from typing import NoReturn

from django.contrib import auth
from django.http import HttpRequest

from accounts.exceptions import SessionEnded
from accounts.signals import session_ended

logger = logging.getLogger(__name__)


def end_session(request: HttpRequest, reason: str, message: str) -> NoReturn:
    """Log the user out here, tell the listeners why, then raise ``SessionEnded``."""
    user = request.user
    auth.logout(request)
    logger.info("session ended: user %s, reason %s", getattr(user, "pk", None), reason)
    session_ended.send(sender=end_session, request=request, user=user, reason=reason)
    raise SessionEnded(message, reason=reason)
