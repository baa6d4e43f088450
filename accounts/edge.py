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
database: Django's session auth hash (a password change logs other sessions out) is checked when
the sync code runs, so in a thread, on the next renewal or activity write (at most one
``activity_interval`` later), and on every page view.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.conf import accounts_settings
from accounts.exceptions import AccountsError, LoginRequired, TokenRecordUnreadable
from accounts.redirects import login_url_for
from accounts.sessions import lifetimes
from accounts.sessions.activity import RECORD_NAME as ACTIVITY
from accounts.sessions.activity import SessionActivity, check_session_lifetime
from accounts.sessions.async_read import SessionSnapshot, aclose_redis, aload_snapshot
from accounts.sessions.store import SessionStore
from accounts.tokens.cipher import decrypt_record
from accounts.tokens.record import RECORD_NAME as TOKENS
from accounts.tokens.record import TokenRecord
from accounts.tokens.targets import ApiTarget


@dataclass(frozen=True)
class EdgeRequest:
    """What the token rules need to know of a request that is not Django's."""

    method: str
    path: str  # decoded, as Django's request.path
    query_string: str
    headers: Mapping[str, str]  # lower-case names
    client: str
    scheme: str
    session_cookie: str | None


@dataclass
class EdgeToken:
    """The token to send (None: call anonymously), and the ``Set-Cookie`` values the session's
    upkeep produced, which the answer must carry whatever it is."""

    token: str | None
    set_cookies: list[str] = field(default_factory=list)


class EdgeError(Exception):
    """An ``AccountsError`` raised while getting the token, with the cookies to send anyway."""

    def __init__(self, error: AccountsError, set_cookies: list[str]) -> None:
        super().__init__(error.message)
        self.error = error
        self.set_cookies = set_cookies


_ANONYMOUS = object()
_UPKEEP = object()


async def aget_edge_token(
    request: EdgeRequest,
    *,
    audience: str | None = None,
    scope: str | None = None,
    optional: bool = False,
    force: bool = False,
) -> EdgeToken:
    """The access token for ``request``'s user, as ``accounts.api.get_access_token`` gives it.

    ``optional``: an anonymous visitor gets ``EdgeToken(None)`` instead of ``LoginRequired``.
    Raises ``EdgeError`` (with the ``AccountsError`` a page's request would have got) or
    ``SessionStoreUnavailable`` (Redis did not answer; nothing was changed)."""
    snapshot = await aload_snapshot(request.session_cookie)
    decided = _UPKEEP if force else fast_decision(snapshot, audience, scope, now=time.time())
    if decided is _ANONYMOUS:
        if optional:
            return EdgeToken(None)
        # No I/O for an anonymous request: the sync rule runs here and raises LoginRequired.
        django_request = _django_request(request)
        django_request.user = AnonymousUser()
        try:
            _access_token(django_request, audience, scope, force=False)
        except AccountsError as exc:
            raise EdgeError(exc, []) from exc
        raise AssertionError("unreachable")  # pragma: no cover
    if isinstance(decided, str):
        return EdgeToken(decided)
    outcome = await asyncio.to_thread(
        _upkeep, request, snapshot.session_key, audience, scope, optional, force
    )
    if isinstance(outcome, EdgeError):
        raise outcome
    return outcome


def fast_decision(
    snapshot: SessionSnapshot, audience: str | None, scope: str | None, *, now: float
) -> object:
    """The token when nothing needs doing, ``_ANONYMOUS``, or ``_UPKEEP`` (run the sync code).

    Pure: the snapshot in, a decision out."""
    data = snapshot.data
    if data is None or auth.SESSION_KEY not in data:
        return _ANONYMOUS
    if data.get(auth.BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return _UPKEEP  # Django decides what such a session is worth
    activity = SessionActivity.from_json(snapshot.records.get(ACTIVITY))
    policy = snapshot.prefetched.get("policy")
    if activity is None or not isinstance(policy, lifetimes.Policy):
        return _UPKEEP
    deadlines = lifetimes.deadlines(activity.created_at, activity.last_activity, policy)
    if now >= deadlines.expires_at or now - activity.last_activity >= policy.activity_interval:
        return _UPKEEP
    blob = snapshot.records.get(TOKENS)
    if not isinstance(blob, str):
        return _UPKEEP
    try:
        record = _decrypted(blob)
    except TokenRecordUnreadable:
        return _UPKEEP
    if (audience and audience != accounts_settings.OIDC_AUDIENCE) or scope:
        key = ApiTarget(audience or accounts_settings.OIDC_AUDIENCE, scope).key
        return record.audience_token(key, now=now, skew=policy.refresh_skew) or _UPKEEP
    if record.access_token_due(now=now, skew=policy.refresh_skew):
        return _UPKEEP
    if record.access_token_expired(now=now):
        return _UPKEEP
    return record.access_token


# The last few records decrypted, by their ciphertext: a user's calls in a row decrypt once.
_decrypted_cache: dict[str, TokenRecord] = {}


def _decrypted(blob: str) -> TokenRecord:
    record = _decrypted_cache.get(blob)
    if record is None:
        record = TokenRecord.from_json(decrypt_record(blob))
        if len(_decrypted_cache) >= 256:
            _decrypted_cache.pop(next(iter(_decrypted_cache)))
        _decrypted_cache[blob] = record
    return record


def _upkeep(
    request: EdgeRequest,
    session_key: str | None,
    audience: str | None,
    scope: str | None,
    optional: bool,
    force: bool,
) -> EdgeToken | EdgeError:
    """In a thread: what the middleware and ``get_access_token`` do for a page's request."""
    django_request = _django_request(request)
    django_request.session = SessionStore(session_key)
    django_request.user = SimpleLazyObject(lambda: auth.get_user(django_request))  # type: ignore[assignment]
    try:
        check_session_lifetime(django_request)
        token = None
        if django_request.user.is_authenticated or not optional:
            token = _access_token(django_request, audience, scope, force=force)
        return EdgeToken(token, _session_cookies(django_request))
    except AccountsError as exc:
        if isinstance(exc, LoginRequired) and not exc.login_url:
            exc.login_url = login_url_for(django_request)
        return EdgeError(exc, _session_cookies(django_request))
    finally:
        # What Django's request_finished does for a request: no connection outlives its use.
        close_old_connections()


def _access_token(
    request: HttpRequest, audience: str | None, scope: str | None, *, force: bool
) -> str:
    from accounts.api import get_access_token  # the public face, imported late: it imports us

    return get_access_token(request, audience=audience, scope=scope, force=force)


def _session_cookies(request: HttpRequest) -> list[str]:
    """The ``Set-Cookie`` values SessionMiddleware would add: the session saved when the upkeep
    changed it (activity), the cookie deleted when it was ended."""
    response = SessionMiddleware(lambda r: HttpResponse()).process_response(request, HttpResponse())
    return [morsel.OutputString() for morsel in response.cookies.values()]


def _django_request(request: EdgeRequest) -> HttpRequest:
    django_request = HttpRequest()
    django_request.method = request.method
    django_request.path = django_request.path_info = request.path
    meta: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string,
        "REMOTE_ADDR": request.client,
        "wsgi.url_scheme": request.scheme,
        "SERVER_NAME": "edge",
        "SERVER_PORT": "443" if request.scheme == "https" else "80",
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key not in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            key = "HTTP_" + key
        meta[key] = value
    django_request.META = meta
    if request.session_cookie is not None:
        django_request.COOKIES = {settings.SESSION_COOKIE_NAME: request.session_cookie}
    return django_request


async def aclose_edge() -> None:
    """Close this loop's Redis connections (the ASGI lifespan's shutdown)."""
    await aclose_redis()
