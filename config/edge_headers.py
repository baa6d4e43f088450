"""The headers every answer of this site carries (nosniff, Referrer-Policy, COOP, HSTS on https,
X-Frame-Options), for answers made outside Django's middleware: the proxy's ASGI handler.

They are taken from Django's own middleware, run once per kind of request (secure or not) on an
empty response, so the rule stays Django's and the settings' (``SECURE_*``, ``X_FRAME_OPTIONS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

_MIDDLEWARE: dict[str, type[SecurityMiddleware] | type[XFrameOptionsMiddleware]] = {
    "django.middleware.security.SecurityMiddleware": SecurityMiddleware,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": XFrameOptionsMiddleware,
}


def site_headers(request: HttpRequest) -> Mapping[str, str]:
    return _headers(request.is_secure())


class _Request(HttpRequest):
    def __init__(self, secure: bool) -> None:
        super().__init__()
        self._secure = secure

    def _get_scheme(self) -> str:
        return "https" if self._secure else "http"


@lru_cache(maxsize=2)
def _headers(secure: bool) -> Mapping[str, str]:
    request = _Request(secure)
    response = HttpResponse()
    del response["Content-Type"]
    for path in settings.MIDDLEWARE:
        middleware = _MIDDLEWARE.get(path)
        if middleware is not None:
            middleware(lambda r: response).process_response(request, response)
    return dict(response.headers.items())
