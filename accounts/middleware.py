"""The accounts middleware: thin shells that call the sessions and tokens floors before a view,
and render what they raise. The order is checked by accounts.E013/E014."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from accounts.error_pages import error_response, wants_json
from accounts.exceptions import AccountsError, TokenUnavailable
from accounts.sessions.activity import check_session_lifetime
from accounts.tokens.renewal import current_tokens


class _Middleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class AccountsErrorMiddleware(_Middleware):
    """Renders ``AccountsError`` raised by a view as its page or JSON, with its status."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, AccountsError):
            return error_response(request, exception)
        return None


class _SessionUpkeep(_Middleware):
    """Work done once the view is known (``process_view``), so that a view that ends the
    session itself (``ends_the_session``: logout) is spared it; an ``AccountsError`` it raises
    becomes the view's answer."""

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if ends_the_session(view):
            return None
        try:
            self.upkeep(request)
        except AccountsError as exc:
            return error_response(request, exc)
        return None

    def upkeep(self, request: HttpRequest) -> None:
        raise NotImplementedError


class SessionLifetimeMiddleware(_SessionUpkeep):
    """Ends a session whose absolute lifetime or inactivity timeout has run out under the
    current policy, and records activity (at most once per interval).

    Goes after AuthenticationMiddleware and before TokenRefreshMiddleware (an ended session is
    not worth a refresh); check accounts.E014. The logout view is left to end the session its
    own way, at the provider too: ending it here first would send the user to log in again.
    """

    def upkeep(self, request: HttpRequest) -> None:
        check_session_lifetime(request)


class TokenRefreshMiddleware(_SessionUpkeep):
    """Renews a logged-in user's access token before the view runs, when it is about to expire.

    Goes after SessionMiddleware and AuthenticationMiddleware (check accounts.E012). A request
    that needs no renewal costs nothing here: the token record came with the session's load.
    A view that ends the session (logout) never spends a refresh grant on a token it is about
    to revoke.
    """

    def upkeep(self, request: HttpRequest) -> None:
        if not request.user.is_authenticated:
            return
        try:
            current_tokens(request)
        except TokenUnavailable as exc:
            if wants_json(request):
                raise
            # A page can still render (it shows who you are from the session); it says
            # that calls needing the token will fail until the provider answers again.
            request.token_notice = exc.message  # type: ignore[attr-defined]


def ends_the_session(view: Callable[..., Any]) -> bool:
    """Views (or view classes) that set ``ends_the_session = True`` are spared the session's
    upkeep: no lifetime check, no activity write, no token renewal."""
    return bool(getattr(getattr(view, "view_class", view), "ends_the_session", False))
