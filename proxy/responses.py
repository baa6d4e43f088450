"""The one place where an error of the proxy, or of the token it needed, becomes a response.

Every proxied call is an API call from a page's script, so errors are always JSON:
``{"error": code, "message": text}``, plus ``login_url`` when logging in again would help, and
``acr_values`` and ``max_age`` when the login must be stronger or more recent (step-up).
``error_payload`` decides status, headers and body; the WSGI view wraps it in an ``HttpResponse``
and the ASGI handler sends it as it is.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse

from accounts.api import AccountsError, LoginRequired, StepUpRequired
from proxy.exceptions import MethodNotAllowed, ProxyError

logger = logging.getLogger(__name__)

# Seconds a client should wait before trying again after a 503 (token renewal failing, Redis
# down): long enough for a provider blip to pass, short enough that nobody gives up.
RETRY_AFTER_SECONDS = 5


def error_payload(
    error: ProxyError | AccountsError, *, method: str, path: str
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (Content-Type included) and JSON body for ``error``."""
    if error.status >= 500:
        logger.warning("proxy %s %s: %s (%s)", method, path, error.code, error)
    body: dict[str, object] = {"error": error.code, "message": error.message}
    if isinstance(error, LoginRequired):
        body["login_url"] = error.login_url
    if isinstance(error, StepUpRequired):
        body.update(error.details())
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    if error.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return error.status, headers, json.dumps(body).encode()


def error_response(request: HttpRequest, error: ProxyError | AccountsError) -> HttpResponse:
    status, headers, body = error_payload(error, method=request.method or "", path=request.path)
    return HttpResponse(body, status=status, headers=headers)
