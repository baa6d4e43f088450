"""WebSockets through the proxy's ASGI edge (a real uvicorn in this process), to the sample API's
real WebSocket echo, with the ``websockets`` client a script would use."""

import json
import time

import pytest
import requests
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from accounts.sessions.live import end_session_by_key
from tests.proxy.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ORIGIN = "http://testserver"


@pytest.fixture
def edge(proxy_settings, live_edge):
    return live_edge


def session_of(client):
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def open_socket(edge, path, *, cookie=None, origin=ORIGIN, **kwargs):
    headers = {}
    if cookie:
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
    return connect(
        f"ws://127.0.0.1:{edge.port}{path}",
        origin=origin,
        additional_headers=headers,
        open_timeout=10,
        close_timeout=5,
        **kwargs,
    )


def refused(edge, path, **kwargs):
    with pytest.raises(InvalidStatus) as caught:
        open_socket(edge, path, **kwargs)
    response = caught.value.response
    return response.status_code, json.loads(response.body or b"{}")


def received(closed):
    """The close frame the client got (None would mean the connection just dropped)."""
    frame = closed.value.rcvd
    assert frame is not None
    return frame


@pytest.fixture
def alice():
    return login(Client())


def test_echoes_text_and_binary_with_the_users_token(edge, alice):
    with open_socket(edge, "/api/proxy/live/echo", cookie=session_of(alice)) as ws:
        ws.send("hello")
        assert ws.recv(5) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(5) == b"\x00\x01\xff"
        ws.send("!whoami")
        assert json.loads(ws.recv(5))["sub"]


def test_the_browsers_cookie_and_authorization_never_reach_the_upstream(edge, alice):
    cookie = session_of(alice)
    with open_socket(
        edge, "/api/proxy/live/echo", cookie=cookie, subprotocols=["chat.v2", "chat.v1"]
    ) as ws:
        assert ws.subprotocol == "chat.v2"  # the upstream's choice, passed through
        ws.send("!headers")
        names = json.loads(ws.recv(5))
    assert "cookie" not in names
    assert "authorization" in names  # the proxy's bearer, the upstream validated it
    assert "sec-websocket-protocol" in names
    assert "x-forwarded-for" in names


@pytest.mark.parametrize(
    ("origin", "why"),
    [(None, "no Origin"), ("http://evil.example", "another site"), ("http://testserver:8080", "")],
)
def test_a_handshake_from_another_origin_is_refused(edge, alice, origin, why):
    status, body = refused(edge, "/api/proxy/live/echo", cookie=session_of(alice), origin=origin)
    assert (status, body["error"]) == (403, "origin_not_allowed")


def test_an_upstream_that_did_not_opt_in_is_refused(edge, alice):
    status, body = refused(edge, "/api/proxy/notes/stream", cookie=session_of(alice))
    assert (status, body["error"]) == (403, "websocket_not_allowed")


def test_an_unknown_upstream_is_404(edge, alice):
    status, body = refused(edge, "/api/proxy/nowhere/echo", cookie=session_of(alice))
    assert (status, body["error"]) == (404, "unknown_upstream")


def test_a_logged_out_visitor_gets_401_with_the_login_url(edge):
    status, body = refused(edge, "/api/proxy/live/echo")
    assert (status, body["error"]) == (401, "login_required")
    assert body["login_url"].startswith("/auth/login/")


def test_an_unsafe_path_is_refused(edge, alice):
    status, body = refused(edge, "/api/proxy/live/%2e%2e/echo", cookie=session_of(alice))
    assert (status, body["error"]) == (400, "unsafe_path")


def test_the_upstreams_close_code_reaches_the_browser(edge, alice):
    with open_socket(edge, "/api/proxy/live/echo", cookie=session_of(alice)) as ws:
        ws.send("!close 4123 done here")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert received(closed).code == 4123
    assert received(closed).reason == "done here"


def test_the_browser_closing_is_answered_with_its_own_code(edge, alice):
    with open_socket(edge, "/api/proxy/live/echo", cookie=session_of(alice)) as ws:
        ws.send("one")
        assert ws.recv(5) == "one"
        ws.close(4000, "bye")
    assert ws.close_code == 4000


def test_a_message_over_the_upstreams_limit_closes_with_1009(edge, alice):
    with open_socket(edge, "/api/proxy/live/echo", cookie=session_of(alice)) as ws:
        ws.send(b"x" * (64 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert received(closed).code == 1009


def test_revoking_the_session_closes_its_sockets_and_streams_within_5_seconds(edge, alice):
    cookie = session_of(alice)
    with open_socket(edge, "/api/proxy/live/echo", cookie=cookie) as ws:
        ws.send("ping")
        assert ws.recv(5) == "ping"
        stream = requests.get(
            f"http://127.0.0.1:{edge.port}/api/proxy/api/stream?count=100&interval=0.2",
            headers={
                "Host": "testserver",
                "X-CSRF": "1",
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}",
            },
            stream=True,
            timeout=10,
        )
        assert stream.status_code == 200
        chunks = stream.iter_content(None)
        assert next(chunks)
        started = time.monotonic()
        end_session_by_key(cookie, reason="revoked_by_admin")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
        assert received(closed).code == 4401
        for _ in chunks:  # the stream ends cleanly, well before its 100 events
            pass
        assert time.monotonic() - started < 5


def test_logging_out_closes_the_sockets(edge, alice):
    with open_socket(edge, "/api/proxy/live/echo", cookie=session_of(alice)) as ws:
        ws.send("ping")
        assert ws.recv(5) == "ping"
        started = time.monotonic()
        alice.post("/auth/logout/")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert received(closed).code == 4401
    assert time.monotonic() - started < 5


def test_a_session_gone_from_redis_without_a_notice_closes_its_sockets(edge, alice):
    """A lifetime running out is Redis expiring the session: no one publishes, the sweep sees."""
    from django.core.cache import caches

    from accounts.sessions.store import SessionStore

    cookie = session_of(alice)
    with open_socket(edge, "/api/proxy/live/echo", cookie=cookie) as ws:
        ws.send("ping")
        assert ws.recv(5) == "ping"
        started = time.monotonic()
        caches["sessions"].delete(SessionStore(cookie).cache_key)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert received(closed).code == 4401
    assert time.monotonic() - started < 5


def test_the_upstream_going_away_closes_the_browsers_socket_with_1014(edge, alice):
    with open_socket(edge, "/api/proxy/live/echo", cookie=session_of(alice)) as ws:
        ws.send("!close 1006")  # the echo cannot send 1006; it drops the connection instead
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert received(closed).code == 1014


def test_through_gunicorn_refusals_are_json_and_the_relay_works(stack):
    """The deployed worker (config/workers.py's uvicorn) gives the same answers."""
    http = stack.browser()
    cookie = http.cookies[settings.SESSION_COOKIE_NAME]
    url = stack.url.replace("http://", "ws://") + "/api/proxy/live/echo"
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
    with pytest.raises(InvalidStatus) as caught:
        connect(
            url, origin=Origin("http://evil.example"), additional_headers=headers, open_timeout=10
        )
    assert caught.value.response.status_code == 403
    assert json.loads(caught.value.response.body)["error"] == "origin_not_allowed"
    with connect(url, origin=stack.url, additional_headers=headers, open_timeout=10) as ws:
        ws.send(b"\x00binary")
        assert ws.recv(5) == b"\x00binary"
