"""django-axes, fitted to a site where people log in at the provider.

Axes counts failed ``authenticate()`` calls and locks out a username and address after too many.
Here only password logins count: the OIDC callback also goes through ``authenticate()`` (with a
nonce and a PKCE verifier, no password), and a provider login must never be counted, locked or
logged as a password login. ``AXES_HANDLER`` and ``AXES_LOCKOUT_CALLABLE`` name this module.

The attempts live in the database, axes' default: a lockout survives a Redis flush or failover,
a break-glass login works while Redis is down, and the admin lists and clears them.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest, HttpResponse

from accounts.admin_access.password_login import is_password_attempt, is_password_backend
from accounts.conf import accounts_settings
from accounts.error_pages import error_response
from accounts.exceptions import PasswordLoginLocked


class PasswordLoginHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """Axes' database handler, minding password logins only."""

    def is_whitelisted(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> bool:
        # Axes asks this before it counts a failure and before its backend refuses a login.
        if not is_password_attempt(credentials):
            return True
        return bool(super().is_whitelisted(request, credentials))

    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        # The access log is for password logins; the session index records provider logins.
        if _password_session(request):
            super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        if _password_session(request):
            super().user_logged_out(sender, request, user, **kwargs)


def _password_session(request: HttpRequest | None) -> bool:
    # login() has written the backend into the session before user_logged_in is sent, and
    # logout() sends user_logged_out before it flushes the session.
    session = getattr(request, "session", None)
    return session is not None and is_password_backend(session.get(BACKEND_SESSION_KEY, ""))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the site's error page (or JSON), 429 with ``Retry-After``."""
    cool_off = get_cool_off(request)
    if cool_off:
        seconds = int(cool_off.total_seconds())
        minutes = max(1, round(seconds / 60))
        wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or log in with"
    else:
        seconds = None
        wait = "An administrator can lift the lock. Meanwhile, log in with"
    message = (
        "Too many wrong passwords for this account from your address, so password login is "
        f"locked. {wait} {accounts_settings.OIDC_PROVIDER_DISPLAY_NAME}."
    )
    return error_response(request, PasswordLoginLocked(message, retry_after=seconds))
