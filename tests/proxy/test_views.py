"""The proxy view in-process (Django's test client), against the real provider, Redis, the
sample API and the echo server."""

import dataclasses
import json
import time
from typing import Any

import pytest

from accounts.exceptions import TokenUnavailable
from accounts.tokens.record import load_tokens, store_tokens
from tests.proxy.conftest import login

# Transactions committed: the live edge's threads read the database through their own
# connections (only when a session needs upkeep: the common path reads none).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CSRF: dict[str, Any] = {"HTTP_X_CSRF": "1"}


@pytest.fixture
def alice(proxy_settings, make_client):
    return login(make_client(), "alice")


def test_logged_in_call_reaches_the_sample_api_with_the_users_token(alice, sample_api):
    response = alice.get("/api/proxy/api/whoami", **CSRF)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sub"] == "alice"
    assert body["aud"] == "http://127.0.0.1:8002"
    assert body["forwarded_for"] == "127.0.0.1"


def test_notes_are_kept_per_user(proxy_settings, make_client):
    alice, bob = login(make_client(), "alice"), login(make_client(), "bob")
    # The sample API keeps notes for the whole run: each test sees the ones made before it.
    before = [n["text"] for n in alice.get("/api/proxy/api/notes", **CSRF).json()["notes"]]
    created = alice.post(
        "/api/proxy/api/notes", {"text": "buy milk"}, content_type="application/json", **CSRF
    )
    assert created.status_code == 201, created.content
    assert created.json()["text"] == "buy milk"
    assert [n["text"] for n in alice.get("/api/proxy/api/notes", **CSRF).json()["notes"]] == [
        *before,
        "buy milk",
    ]
    assert bob.get("/api/proxy/api/notes", **CSRF).json()["notes"] == []


def test_required_upstream_without_login_is_401_with_login_url(proxy_settings, echo, make_client):
    response = make_client().get("/api/proxy/echo/x", **CSRF)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "login_required"
    assert body["login_url"].startswith("/auth/login/?next=")
    assert response["Cache-Control"] == "no-store"
    assert echo.arrivals == []


def test_missing_csrf_header_is_403_before_the_upstream_is_touched(alice, echo):
    response = alice.post("/api/proxy/echo/x", b"{}", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_header_missing"
    assert "X-CSRF" in response.json()["message"]
    assert alice.get("/api/proxy/echo/x").status_code == 403
    assert echo.arrivals == []


def test_csrf_header_name_is_configurable(alice, echo, settings):
    settings.PROXY_CSRF_HEADER = "X-Requested-By"
    assert alice.get("/api/proxy/echo/x", **CSRF).status_code == 403
    assert alice.get("/api/proxy/echo/x", HTTP_X_REQUESTED_BY="app").status_code == 200
    assert "x-requested-by" not in echo.arrivals[0].names()


def test_the_header_replaces_djangos_csrf_token_check(proxy_settings, echo, make_client):
    client = login(make_client(enforce_csrf_checks=True))
    response = client.post("/api/proxy/echo/x", b"{}", content_type="application/json", **CSRF)
    assert response.status_code == 200
    assert len(echo.arrivals) == 1


def test_unknown_upstream_is_404_json(alice):
    response = alice.get("/api/proxy/nowhere/x", **CSRF)
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_upstream"


def test_method_not_allowed_is_405_with_allow(alice, echo):
    response = alice.post("/api/proxy/public/x", b"", content_type="text/plain", **CSRF)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert echo.arrivals == []


def test_optional_upstream_goes_anonymous_without_login(proxy_settings, echo, make_client):
    assert make_client().get("/api/proxy/open/x", **CSRF).status_code == 200
    assert echo.arrivals[0].header("Authorization") is None


def test_optional_upstream_gets_the_token_when_logged_in(alice, echo):
    assert alice.get("/api/proxy/open/x", **CSRF).status_code == 200
    assert echo.arrivals[0].bearer.count(".") == 2


def test_auth_none_upstream_never_gets_the_token(alice, echo):
    assert alice.get("/api/proxy/public/x", **CSRF).status_code == 200
    assert echo.arrivals[0].header("Authorization") is None


def test_path_and_query_are_forwarded_under_the_base_path(alice, echo):
    response = alice.get("/api/proxy/echo/items/a%20b/?q=1&r=%2F", **CSRF)
    assert response.status_code == 200
    assert echo.arrivals[0].target == "/base/items/a%20b/?q=1&r=%2F"
    alice.get("/api/proxy/echo", **CSRF)
    assert echo.arrivals[1].target == "/base"


@pytest.mark.parametrize(
    "path",
    ["/api/proxy/echo/../secret", "/api/proxy/echo/a/%2e%2e/b", "/api/proxy/echo/%252e%252e/x"],
)
def test_path_attacks_are_400_before_the_upstream(alice, echo, path):
    response = alice.get(path, **CSRF)
    assert response.status_code == 400
    assert response.json()["error"] == "unsafe_path"
    assert echo.arrivals == []


def test_upstream_errors_pass_through_unchanged(alice, echo):
    response = alice.get("/api/proxy/echo/status?code=418", **CSRF)
    assert response.status_code == 418
    assert response.json() == {"status": "418"}
    assert alice.get("/api/proxy/echo/status?code=503", **CSRF).status_code == 503


def test_redirects_are_passed_through_not_followed(alice, echo):
    response = alice.get("/api/proxy/echo/redirect", **CSRF)
    assert response.status_code == 302
    assert response["Location"] == "http://elsewhere.test/landing"
    assert len(echo.arrivals) == 1


def test_body_over_the_limit_is_413_before_the_upstream(alice, echo):
    response = alice.post(
        "/api/proxy/echo/x", b"x" * (200 * 1024 + 1), content_type="text/plain", **CSRF
    )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert echo.arrivals == []


def test_bodies_arrive_intact(alice, echo):
    small, large = b"s" * 100, bytes(range(256)) * 600  # under and over the replay buffer
    for body in (small, large):
        response = alice.put("/api/proxy/echo/x", body, content_type="application/x-bin", **CSRF)
        assert response.status_code == 200
    assert [a.body for a in echo.arrivals] == [small, large]
    assert echo.arrivals[1].header("Content-Length") == str(len(large))
    assert echo.arrivals[1].header("Content-Type") == "application/x-bin"


def test_upstream_401_renews_the_token_once_and_retries(alice, echo, provider):
    alice.get("/api/proxy/echo/first", **CSRF)
    old_token = echo.arrivals[0].bearer
    echo.state.rejected_tokens.add(old_token)
    provider.reset_stats()
    response = alice.get("/api/proxy/echo/again", **CSRF)
    assert response.status_code == 200
    first, retry = echo.arrivals[1:]
    assert first.bearer == old_token
    assert retry.bearer != old_token
    assert provider.stats()["refresh_grants"] == 1
    # The renewed token is the one kept: the next call uses it without another refresh.
    alice.get("/api/proxy/echo/later", **CSRF)
    assert echo.arrivals[-1].bearer == retry.bearer
    assert provider.stats()["refresh_grants"] == 1


def test_upstream_401_twice_is_passed_through_without_a_loop(alice, echo):
    echo.state.reject_all = True
    response = alice.post("/api/proxy/echo/x", b"{}", content_type="application/json", **CSRF)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert len(echo.arrivals) == 2
    assert echo.arrivals[0].body == echo.arrivals[1].body == b"{}"


def test_upstream_401_with_a_streamed_body_is_not_replayed(alice, echo):
    echo.state.reject_all = True
    body = b"x" * (100 * 1024)  # over the replay buffer: streamed, so it cannot be sent twice
    response = alice.post("/api/proxy/echo/x", body, content_type="text/plain", **CSRF)
    assert response.status_code == 401
    assert len(echo.arrivals) == 1


def test_refresh_rejected_after_upstream_401_is_401_session_expired(alice, echo, provider):
    echo.state.reject_all = True
    provider.revoke_grants("alice")
    response = alice.get("/api/proxy/echo/x", **CSRF)
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert "login_url" in response.json()
    assert len(echo.arrivals) == 1


def test_token_unavailable_is_503_with_retry_after(alice, echo, monkeypatch):
    def unavailable(request, **kwargs):
        raise TokenUnavailable("The provider is not answering.")

    async def aunavailable(request, **kwargs):
        unavailable(request)

    monkeypatch.setattr("proxy.views.get_access_token", unavailable)
    monkeypatch.setattr("proxy.asgi_scope.aget_edge_token", aunavailable)
    response = alice.get("/api/proxy/echo/x", **CSRF)
    assert response.status_code == 503
    assert response.json()["error"] == "token_unavailable"
    assert response["Retry-After"] == "5"
    assert echo.arrivals == []


def test_unreachable_upstream_is_502(alice):
    response = alice.get("/api/proxy/dead/x", **CSRF)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unavailable"


def test_upstream_closing_without_answer_is_502(alice, echo):
    response = alice.get("/api/proxy/public/drop", **CSRF)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unavailable"


def test_slow_upstream_is_504(alice, echo):
    response = alice.get("/api/proxy/slow/slow?seconds=2", **CSRF)
    assert response.status_code == 504
    assert response.json()["error"] == "upstream_timeout"


def test_sample_api_refuses_a_call_without_a_token(sample_api):
    import requests

    response = requests.get(sample_api.url + "/whoami", timeout=5)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge == 'Bearer realm="api", DPoP algs="RS256 PS256 ES256"'


def test_session_cookie_is_not_forwarded_but_other_headers_are(alice, echo):
    alice.get("/api/proxy/echo/x", HTTP_X_TRACE="t-1", HTTP_ACCEPT="application/json", **CSRF)
    arrival = echo.arrivals[0]
    assert "cookie" not in arrival.names()
    assert arrival.header("X-Trace") == "t-1"
    assert arrival.header("Accept") == "application/json"
    assert json.loads(alice.get("/auth/session/").content)["authenticated"] is True


def test_an_untyped_upstream_body_is_never_labelled_html(alice, echo):
    response = alice.get("/api/proxy/echo/untyped", HTTP_X_CSRF="1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_expired_token_without_a_refresh_token_is_401_and_never_sent(alice, echo):
    from tests.accounts.tokens.test_refresh import session_of

    session = session_of(alice)
    record = load_tokens(session)
    assert record is not None
    store_tokens(
        session,
        dataclasses.replace(record, refresh_token=None, access_token_expires_at=time.time() - 1),
    )
    response = alice.get("/api/proxy/echo/x", HTTP_X_CSRF="1")
    assert response.status_code == 401
    assert response.json()["error"] == "login_required"
    assert response.json()["login_url"].startswith("/auth/login/")
    assert echo.arrivals == []
