"""The one place where an error of the proxy, or of the token it needed, becomes a response.

Every proxied call is an API call from a page's script, so errors are always JSON:
``{"error": code, "message": text}``, plus ``login_url`` when logging in again would help.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse

from accounts.api import AccountsError, LoginRequired
from proxy.exceptions import MethodNotAllowed, ProxyError

logger = logging.getLogger(__name__)

# Seconds a client should wait before trying again after a 503 (token renewal failing, Redis
# down): long enough for a provider blip to pass, short enough that nobody gives up.
RETRY_AFTER_SECONDS = 5


def error_response(request: HttpRequest, error: ProxyError | AccountsError) -> JsonResponse:
    if error.status >= 500:
        logger.warning("proxy %s %s: %s (%s)", request.method, request.path, error.code, error)
    body: dict[str, str] = {"error": error.code, "message": error.message}
    if isinstance(error, LoginRequired):
        body["login_url"] = error.login_url
    response = JsonResponse(body, status=error.status)
    if isinstance(error, MethodNotAllowed):
        response["Allow"] = ", ".join(error.allowed)
    if error.status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
