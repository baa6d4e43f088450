"""Turns the accounts errors (and Redis failures) into responses: a page, or JSON for API calls.

This is the one place that does it. ``AccountsErrorMiddleware`` calls it for errors raised in
views; ``handler500`` calls it for errors raised in middleware (the session being saved when Redis
is down), which Django otherwise renders as a bare 500.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error
from redis.exceptions import RedisError

from accounts.exceptions import (
    AccountsError,
    LoginFailed,
    LoginRequired,
    PasswordLoginLocked,
    ProviderBusy,
    ProviderUnavailable,
    SessionStoreUnavailable,
    StepUpRequired,
)
from accounts.metrics import LOGIN_FAILURES
from accounts.redirects import login_url_for

logger = logging.getLogger(__name__)


# Tests that mark a request as an API call whatever its Accept header says; other apps add
# theirs with ``accounts.api.treat_as_api_call`` (the proxy: "carries my anti-forgery header").
_api_call_tests: list[Callable[[HttpRequest], bool]] = []


def treat_as_api_call(test: Callable[[HttpRequest], bool]) -> None:
    """Answer requests for which ``test(request)`` is true with JSON errors, never a page."""
    if test not in _api_call_tests:
        _api_call_tests.append(test)


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return True
    return any(test(request) for test in _api_call_tests)


def error_response(request: HttpRequest, error: AccountsError) -> HttpResponse:
    if isinstance(error, LoginFailed | ProviderUnavailable) and request.path.startswith("/auth/"):
        LOGIN_FAILURES.labels(code=error.code).inc()
    if error.status >= 500:
        logger.error("%s: %s (%s)", request.path, error.code, error.message)
    else:
        logger.warning("%s: %s (%s)", request.path, error.code, error.message)
    if isinstance(error, LoginRequired) and not error.login_url:
        error.login_url = login_url_for(request)
    if isinstance(error, LoginRequired) and not wants_json(request):
        # A page whose login ended goes to the login, and comes back here afterwards.
        response: HttpResponse = HttpResponseRedirect(error.login_url)
    elif wants_json(request):
        body: dict[str, object] = {"error": error.code, "message": error.message}
        if isinstance(error, LoginRequired):
            body["login_url"] = error.login_url
        if isinstance(error, StepUpRequired):
            body.update(error.details())
        response = JsonResponse(body, status=error.status)
    else:
        page = render_page(
            request,
            "accounts/error.html",
            {"title": error.title, "message": error.message, "status": error.status},
        )
        response = HttpResponse(page, status=error.status)
    if isinstance(error, PasswordLoginLocked | ProviderBusy) and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    elif error.status == 503:
        response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a readable 403 (page or JSON) instead of Django's bare one."""
    message = "This form expired or came from another site. Reload the page and try again."
    if wants_json(request):
        return JsonResponse({"error": "csrf_failed", "message": message}, status=403)
    body = render_page(
        request,
        "accounts/error.html",
        {"title": "Request refused", "message": message, "status": 403},
    )
    return HttpResponse(body, status=403)


def render_page(request: HttpRequest, template_name: str, context: dict[str, Any]) -> str:
    """An error page, rendered with the request so that the context processors run: a layout's
    inline style or script needs the page's Content-Security-Policy nonce from them.

    Django renders its own 500 page without them, lest one fail while an error is being handled;
    should one fail here, the page is rendered without them after all.
    """
    try:
        return render_to_string(template_name, context, request=request)
    except TemplateDoesNotExist:
        raise
    except Exception:
        logger.exception("rendering %s with the request failed", template_name)
        return render_to_string(template_name, context)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: map known failures to their own status; anything else is a plain 500."""
    exc = sys.exc_info()[1]
    if isinstance(exc, RedisError):
        exc = SessionStoreUnavailable("The session store is not answering. Please try again.")
    if isinstance(exc, AccountsError):
        return error_response(request, exc)
    try:
        return HttpResponseServerError(render_page(request, "500.html", {}))
    except TemplateDoesNotExist:
        return django_server_error(request)
