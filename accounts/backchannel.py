"""``POST /auth/backchannel-logout/``: the provider ends a user's sessions here.

A server-side session is what makes this possible at all: a cookie-only session cannot be ended
from outside. ``sid`` ends the session of that provider session; ``sub`` alone ends every
session of that user. Success is 200 with ``Cache-Control: no-store``, also when the session is
already gone; any failure is 400 (section 2.8).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.exceptions import AccountsError
from accounts.models import OIDCIdentity
from accounts.oidc.discovery import provider_metadata
from accounts.oidc.logout_token import validate_logout_token
from accounts.sessions.activity import load_activity
from accounts.sessions.index import session_key_for_sid
from accounts.sessions.live import end_session_by_key, end_sessions_of
from accounts.sessions.store import SessionStore

logger = logging.getLogger(__name__)


# CSRF-exempt: the caller is the provider, server to server, with no cookie; the signed logout
# token is what authenticates the request.
@csrf_exempt
@require_POST
def backchannel_logout(request: HttpRequest) -> JsonResponse:
    try:
        if request.content_type != "application/x-www-form-urlencoded":
            # Section 2.5: the token comes as a form-urlencoded body, nothing else.
            raise AccountsError("The request body must be application/x-www-form-urlencoded.")
        token = request.POST.get("logout_token", "")
        if not token:
            raise AccountsError("The request has no logout_token.")
        metadata = provider_metadata()
        claims = validate_logout_token(token, metadata)
        ended = _end_sessions(metadata.issuer, claims.get("sub"), claims.get("sid"))
    except AccountsError as exc:
        logger.warning("back-channel logout refused: %s", exc.message)
        return _no_store(
            JsonResponse({"error": "invalid_request", "error_description": exc.message}, status=400)
        )
    logger.info("back-channel logout: %s session(s) ended", ended)
    return _no_store(JsonResponse({}, status=200))


def _end_sessions(issuer: str, sub: str | None, sid: str | None) -> int:
    # Users are identified by (issuer, sub): the same sub at another issuer is someone else.
    users = {
        str(user_id)
        for user_id in OIDCIdentity.objects.filter(issuer=issuer, subject=sub).values_list(
            "user_id", flat=True
        )
    }
    if sid:
        session_key = session_key_for_sid(sid)
        if session_key is None:
            return 0  # already logged out here: still a success
        owner = _owner_of(session_key)
        if sub and owner is not None and owner not in users:
            # A token naming one user's session and another user's sub was made by mistake or
            # to log someone else out; it ends nothing.
            raise AccountsError("The logout token's sid and sub name different users.")
        end_session_by_key(session_key, reason="backchannel_logout")
        return 1
    return sum(end_sessions_of(user_id, reason="backchannel_logout") for user_id in users)


def _owner_of(session_key: str) -> str | None:
    activity = load_activity(SessionStore(session_key))
    return activity.user_id if activity is not None else None


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response
