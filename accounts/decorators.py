"""Protecting your own views with this app's login.

``login_required`` sends a page's visitor to the OIDC login and back, and answers an API caller
(Accept JSON, or the proxy's CSRF header) with ``401 {"error": "login_required", "login_url"}``
instead of a redirect a script cannot follow. Django's own ``login_required`` works too, for
pages, with ``LOGIN_URL = "accounts:login"``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from accounts.exceptions import LoginRequired
from accounts.login_urls import login_url_for

View = Callable[..., HttpResponse]


def login_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            # Rendered as a redirect or as JSON by AccountsErrorMiddleware.
            raise LoginRequired("Please log in.", login_url=login_url_for(request))
        return view(request, *args, **kwargs)

    return wrapper
