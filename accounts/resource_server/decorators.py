"""``require_access_token``: the access-token check for a Django view of your API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from django.http import JsonResponse

from accounts.resource_server.conf import dpop_headers, request_url, validator_from_settings
from accounts.resource_server.errors import AccessTokenError
from accounts.resource_server.validator import AccessTokenValidator

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., Any])


def require_access_token(
    *, scopes: Iterable[str] = (), validator: AccessTokenValidator | None = None
) -> Callable[[ViewFunc], ViewFunc]:
    """Decorator for a Django view of your API: refuses the request (401 or 403 JSON, with
    ``WWW-Authenticate``) unless it carries a valid access token with ``scopes``: a bearer token,
    or a DPoP-bound one with its proof (``Authorization: DPoP`` and a ``DPoP`` header). The
    claims are then in ``request.access_token_claims``. ::

        @require_access_token(scopes=["read:notes"])
        def notes(request): ...
    """
    required = tuple(scopes)

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                checker = validator or validator_from_settings()
                claims = checker.validate_request(
                    authorization=request.headers.get("Authorization"),
                    dpop=dpop_headers(request),
                    method=request.method,
                    url=request_url(request),
                    scopes=required,
                )
            except AccessTokenError as error:
                response = JsonResponse(error.as_json(), status=error.status)
                for name, value in error.headers().items():
                    response[name] = value
                response["Cache-Control"] = "no-store"
                return response
            request.access_token_claims = claims
            return view(request, *args, **kwargs)

        # Tells the system check (accounts.E020) that this project checks access tokens.
        wrapped.checks_access_tokens = True  # type: ignore[attr-defined]
        return cast(ViewFunc, wrapped)

    return decorate
