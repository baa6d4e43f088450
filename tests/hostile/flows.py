"""What a browser does on the in-process site (Django's test client) against the hostile
provider (real HTTP, with ``requests``), and what a person would notice afterwards."""

from __future__ import annotations

import dataclasses
import html
import re
import time
from typing import Any

import requests

from accounts.sessions.store import SessionStore
from accounts.tokens.record import load_tokens, store_tokens

CALLBACK = "http://testserver/auth/callback/"


def callback_from_provider(client, next_path: str = "/account/") -> str:
    """Start a login at the site, follow it to the provider's authorization endpoint, and return
    the callback URL the provider sends the browser back to, not yet delivered."""
    start = client.get("/auth/login/", {"next": next_path})
    assert start.status_code == 302, start.content[:500]
    answer = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text[:500]
    callback = answer.headers["Location"]
    assert callback.startswith(CALLBACK), callback
    return callback


def log_in(client, next_path: str = "/account/"):
    """Log in through the real login and callback views; return the callback's response."""
    return client.get(callback_from_provider(client, next_path))


def message(response) -> str:
    """The message an error page shows its reader."""
    found = re.search(r'data-testid="error-message">(.*?)</p>', response.content.decode(), re.S)
    assert found, response.content.decode()[:500]
    return html.unescape(found.group(1))


def session_info(client) -> dict[str, Any]:
    return client.get("/auth/session/").json()  # type: ignore[no-any-return]


def assert_logged_in(client, sub: str = "alice") -> None:
    info = session_info(client)
    assert info["authenticated"] is True
    assert info["user"]["sub"] == sub


def assert_login_refused(response, says: str, client, redis_client, status: int = 400) -> None:
    """A page with the status and the reason, and no session: nothing logged in, no tokens."""
    assert response.status_code == status
    assert says in message(response)
    assert session_info(client) == {"authenticated": False}
    cookie = client.cookies.get("sessionid")
    if cookie is not None:
        assert redis_client.keys(f"*{cookie.value}:tokens") == []


def expire_access_token(client) -> None:
    """Move the stored access token's expiry into the past: the next request must renew it."""
    session = SessionStore(client.cookies["sessionid"].value)
    record = load_tokens(session)
    assert record is not None
    store_tokens(session, dataclasses.replace(record, access_token_expires_at=time.time() - 1))


def stored_tokens(client):
    return load_tokens(SessionStore(client.cookies["sessionid"].value))


def renewed_tokens(client):
    """Let the access token expire and make a request, which renews it; the record after."""
    expire_access_token(client)
    assert session_info(client)["authenticated"] is True
    return stored_tokens(client)
