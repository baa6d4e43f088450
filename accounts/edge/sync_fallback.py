"""In a thread, for the edge: what the middleware and ``get_access_token`` do for a page's
request, on a Django request made for the purpose, so that ending a session, writing activity
and renewing a token (single flight) happen one way only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.edge.requests import EdgeError, EdgeRequest, EdgeToken
from accounts.exceptions import AccountsError, LoginRequired
from accounts.protocol.step_up import AuthenticationRequirement
from accounts.redirects import login_url_for
from accounts.sessions.activity import check_session_lifetime
from accounts.sessions.store import SessionStore
from accounts.step_up.enforcement import check_authentication
from accounts.tokens.access import access_token_for


def upkeep(
    request: EdgeRequest,
    session_key: str | None,
    audience: str | None,
    scope: str | None,
    optional: bool,
    force: bool,
    requirement: AuthenticationRequirement | None = None,
) -> EdgeToken | EdgeError:
    """In a thread: what the middleware and ``get_access_token`` do for a page's request."""
    django_request = django_request_for(request)
    django_request.session = SessionStore(session_key)
    django_request.user = SimpleLazyObject(lambda: auth.get_user(django_request))  # type: ignore[assignment]
    try:
        check_session_lifetime(django_request)
        token = None
        if django_request.user.is_authenticated or not optional:
            if requirement:
                check_authentication(django_request, requirement)
            token = access_token_for(django_request, audience=audience, scope=scope, force=force)
        return EdgeToken(token, _session_cookies(django_request))
    except AccountsError as exc:
        if isinstance(exc, LoginRequired) and not exc.login_url:
            exc.login_url = login_url_for(django_request)
        return EdgeError(exc, _session_cookies(django_request))
    finally:
        # What Django's request_finished does for a request: no connection outlives its use.
        close_old_connections()


def _session_cookies(request: HttpRequest) -> list[str]:
    """The ``Set-Cookie`` values SessionMiddleware would add: the session saved when the upkeep
    changed it (activity), the cookie deleted when it was ended."""
    response = SessionMiddleware(lambda r: HttpResponse()).process_response(request, HttpResponse())
    return [morsel.OutputString() for morsel in response.cookies.values()]


def django_request_for(request: EdgeRequest) -> HttpRequest:
    django_request = HttpRequest()
    django_request.method = request.method
    django_request.path = django_request.path_info = request.path
    meta: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string,
        "REMOTE_ADDR": request.client,
        "wsgi.url_scheme": request.scheme,
        "SERVER_NAME": "edge",
        "SERVER_PORT": "443" if request.scheme == "https" else "80",
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key not in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            key = "HTTP_" + key
        meta[key] = value
    django_request.META = meta
    if request.session_cookie is not None:
        django_request.COOKIES = {settings.SESSION_COOKIE_NAME: request.session_cookie}
    return django_request
