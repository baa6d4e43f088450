"""Pages that show the logged-in user: the home page, /account/ and /auth/session/ (JSON).

Who the user is comes from the ID token's claims kept in the token record: no userinfo call per
page. No token ever leaves the server through these views.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.tokens import TokenRecord, load_tokens


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat().replace("+00:00", "Z")


def _current_record(request: HttpRequest) -> TokenRecord | None:
    if not request.user.is_authenticated:
        return None
    return load_tokens(request.session)


def display_name(claims: dict[str, Any]) -> str:
    for name in ("name", "preferred_username", "nickname", "email", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return "you"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    record = _current_record(request)
    claims = record.public_claims() if record else {}
    return render(
        request,
        "home.html",
        {"record": record, "display_name": display_name(claims) if record else None},
    )


@require_GET
@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    record = _current_record(request)
    claims = record.public_claims() if record else {}
    return render(
        request,
        "accounts/account.html",
        {
            "claims": sorted(claims.items()),
            "display_name": display_name(claims),
            "access_token_expires_at": _iso(record.access_token_expires_at) if record else None,
            "id_token_expires_at": _iso(record.id_token_expires_at) if record else None,
            "session_expires_at": request.session.get_expiry_date().isoformat(),
            "has_refresh_token": bool(record and record.refresh_token),
        },
    )


@require_GET
@never_cache
def session_info(request: HttpRequest) -> JsonResponse:
    """``GET /auth/session/``: what a page's script may know about the session. Never a token."""
    record = _current_record(request)
    if record is None:
        return JsonResponse({"authenticated": False})
    return JsonResponse(
        {
            "authenticated": True,
            "user": record.public_claims(),
            "expires": {
                "access_token": _iso(record.access_token_expires_at),
                "id_token": _iso(record.id_token_expires_at),
                "refresh_token": _iso(record.refresh_token_expires_at),
                "session": request.session.get_expiry_date().isoformat(),
            },
        }
    )
