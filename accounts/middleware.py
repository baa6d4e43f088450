from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.error_pages import error_response
from accounts.exceptions import AccountsError


class AccountsErrorMiddleware:
    """Renders ``AccountsError`` raised by a view as its page or JSON, with its status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, AccountsError):
            return error_response(request, exception)
        return None
