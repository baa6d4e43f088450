"""Pages that show the logged-in user: /account/, /account/session/ and /auth/session/ (JSON).

Who the user is comes from the ID token's claims kept in the token record: no userinfo call per
page. No token ever leaves the server through these views.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.api import display_name
from accounts.protocol.times import utc_datetime
from accounts.sessions import lifetimes
from accounts.sessions.activity import load_activity
from accounts.sessions.lifetimes import session_policy
from accounts.sessions.live import end_session_by_key, end_sessions_of, find_by_handle, sessions_of
from accounts.sessions.timeline import WIDTH, axis_ticks, timeline
from accounts.step_up.session import session_authentication
from accounts.tokens.record import TokenRecord, load_tokens

# The app's own login, whatever the project's LOGIN_URL says.
LOGIN = reverse_lazy("accounts:login")


def _iso(timestamp: float | None) -> str | None:
    at = utc_datetime(timestamp)
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def current_record(request: HttpRequest) -> TokenRecord | None:
    if not request.user.is_authenticated:
        return None
    return load_tokens(request.session)


@require_GET
@never_cache
@login_required(login_url=LOGIN)
def account(request: HttpRequest) -> HttpResponse:
    record = current_record(request)
    claims = record.public_claims() if record else {}
    clocks = _deadlines(request)
    return render(
        request,
        "accounts/account.html",
        {
            "claims": [(name, _shown(value)) for name, value in sorted(claims.items())],
            "display_name": display_name(claims) or "you",
            "access_token_expires": _datetime(record.access_token_expires_at if record else None),
            "id_token_expires": _datetime(record.id_token_expires_at if record else None),
            "has_refresh_token": bool(record and record.refresh_token),
            "absolute_deadline": _datetime(clocks.absolute if clocks else None),
            "inactivity_deadline": _datetime(clocks.inactivity if clocks else None),
            "now": _datetime(lifetimes.now()),
        },
    )


def _deadlines(request: HttpRequest) -> lifetimes.Deadlines | None:
    activity = load_activity(request.session)
    if activity is None:
        return None
    policy = session_policy(request.session)
    return lifetimes.deadlines(activity.created_at, activity.last_activity, policy)


def _datetime(timestamp: float | None) -> datetime | None:
    # A time no date can show (kept by an earlier version from a provider's odd answer) is
    # shown as unknown rather than failing the page.
    return utc_datetime(timestamp)


def _shown(value: Any) -> str:
    # Claims come as JSON: true/false read better as yes/no than as Python's True/False.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@require_GET
@never_cache
def session_info(request: HttpRequest) -> JsonResponse:
    """``GET /auth/session/``: what a page's script may know about the session. Never a token."""
    record = current_record(request)
    if record is None:
        return JsonResponse({"authenticated": False})
    clocks = _deadlines(request)
    level = session_authentication(request.session)
    return JsonResponse(
        {
            "authenticated": True,
            "user": record.public_claims(),
            # How and when the login authenticated the user: a page can tell before a call
            # whether it will need a step-up.
            "authentication": {"acr": level.acr, "auth_time": _iso(level.auth_time)},
            "expires": {
                "access_token": _iso(record.access_token_expires_at),
                "id_token": _iso(record.id_token_expires_at),
                "refresh_token": _iso(record.refresh_token_expires_at),
                # The session's two clocks: it ends at whichever comes first.
                "absolute": _iso(clocks.absolute if clocks else None),
                "inactivity": _iso(clocks.inactivity if clocks else None),
                # Deprecated (CHANGELOG 0.2): the earlier of the two; removed in 0.3.
                "session": request.session.get_expiry_date().isoformat(),
            },
        }
    )


@require_GET
@never_cache
@login_required(login_url=LOGIN)
def session_page(request: HttpRequest) -> HttpResponse:
    """``/account/session/``: the session's deadlines, drawn and said; the user's other sessions."""
    activity = load_activity(request.session)
    if activity is None:  # a session older than activity records; the middleware starts one
        return redirect("accounts:account")
    marks, now_x, height = timeline(
        current_record(request), activity, session_policy(request.session), lifetimes.now()
    )
    others = [
        s for s in sessions_of(request.user.pk) if s.session_key != request.session.session_key
    ]
    return render(
        request,
        "accounts/session.html",
        {
            "marks": marks,
            "ticks": axis_ticks(activity, marks),
            "now_x": now_x,
            "height": height,
            "width": WIDTH,
            "others": others,
        },
    )


@require_POST
@login_required(login_url=LOGIN)
def end_other_session(request: HttpRequest) -> HttpResponse:
    """Log out one of the user's other sessions (``handle``), or all of them (``all=1``)."""
    current = request.session.session_key
    if request.POST.get("all") == "1":
        count = end_sessions_of(request.user.pk, reason="ended_by_user", keep=current)
        messages.success(request, f"Logged out {count} other session(s).")
    else:
        others = [s for s in sessions_of(request.user.pk) if s.session_key != current]
        live = find_by_handle(others, request.POST.get("handle", ""))
        if live is None:
            messages.info(request, "That session had already ended.")
        else:
            end_session_by_key(live.session_key, reason="ended_by_user")
            messages.success(request, "Logged out that session.")
    return redirect("accounts:session_page")
