"""``get_access_token`` for an asyncio edge (the proxy's ASGI handler): no ``HttpRequest``, and no
thread held while nothing is due.

The common case costs one ``MGET`` and no database query: the session, its activity and token
records and the policy come back together (``accounts.sessions.async_read``), and the same pure
rules the sync middleware applies decide that nothing needs doing: the session's clocks have not
run out (``lifetimes.deadlines``), no activity is due (``activity_interval``), the token is not
due (``renewal_due``). Whenever one of them says otherwise, or the token must be renewed after an
upstream's rejection, the sync code runs in a thread on a Django request made for the purpose:
``check_session_lifetime`` then ``get_access_token``, the very functions a page's request runs,
so a session ends, an activity is written and a token is renewed (single flight) one way only.

Who the user is comes from the session's ``_auth_user_id`` on that common path, not from the
database: Django's session auth hash is checked when the sync code runs (in a thread, on the next
renewal or activity write, and on every page view), and a password change ends the user's
sessions at once (``accounts.admin_access.password_changes``), so none of them goes on through
here.
"""

from __future__ import annotations

import asyncio
import time

from django.contrib.auth.models import AnonymousUser

from accounts.edge.decisions import ANONYMOUS, UPKEEP, fast_decision
from accounts.edge.requests import EdgeError, EdgeRequest, EdgeToken
from accounts.edge.session_watch import astop_session_watch, watch_session_end
from accounts.edge.sync_fallback import django_request_for, upkeep
from accounts.exceptions import AccountsError
from accounts.protocol.step_up import AuthenticationRequirement
from accounts.sessions.async_read import aclose_redis, aload_snapshot
from accounts.step_up.enforcement import check_authentication
from accounts.tokens.access import access_token_for

__all__ = [
    "EdgeError",
    "EdgeRequest",
    "EdgeToken",
    "aclose_edge",
    "aget_edge_token",
    "watch_session_end",
]


async def aget_edge_token(
    request: EdgeRequest,
    *,
    audience: str | None = None,
    scope: str | None = None,
    optional: bool = False,
    force: bool = False,
    requirement: AuthenticationRequirement | None = None,
) -> EdgeToken:
    """The access token for ``request``'s user, as ``accounts.api.get_access_token`` gives it.

    ``optional``: an anonymous visitor gets ``EdgeToken(None)`` instead of ``LoginRequired``.
    ``requirement``: the session's login must meet it (step-up), as ``check_authentication``
    says for a page's request. Raises ``EdgeError`` (with the ``AccountsError`` a page's request
    would have got) or ``SessionStoreUnavailable`` (Redis did not answer; nothing was changed)."""
    snapshot = await aload_snapshot(request.session_cookie)
    decided = (
        UPKEEP
        if force
        else fast_decision(snapshot, audience, scope, now=time.time(), requirement=requirement)
    )
    if decided is ANONYMOUS:
        if optional:
            return EdgeToken(None)
        # No I/O for an anonymous request: the sync rule runs here and raises LoginRequired.
        django_request = django_request_for(request)
        django_request.user = AnonymousUser()
        try:
            if requirement:  # its login URL asks for the requirement: one login is enough
                check_authentication(django_request, requirement)
            access_token_for(django_request, audience=audience, scope=scope, force=False)
        except AccountsError as exc:
            raise EdgeError(exc, []) from exc
        raise AssertionError("unreachable")  # pragma: no cover
    if isinstance(decided, str):
        return EdgeToken(decided)
    outcome = await asyncio.to_thread(
        upkeep, request, snapshot.session_key, audience, scope, optional, force, requirement
    )
    if isinstance(outcome, EdgeError):
        raise outcome
    return outcome


async def aclose_edge() -> None:
    """Stop this loop's session-end subscriber and close its Redis connections (the ASGI
    lifespan's shutdown)."""
    await astop_session_watch()
    await aclose_redis()
