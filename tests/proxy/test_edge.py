"""The ASGI edge's promises: a proxied call with nothing due costs one Redis round trip and no
database query; open streams and slow clients cost no thread, so pages keep answering."""

import http.client
import socket
import threading
import time
from typing import Any

import pytest

from tests.client_keys import ec_pem
from tests.conftest import use_provider
from tests.proxy.conftest import login
from tests.proxy.live_edge import EdgeClient

pytestmark = pytest.mark.integration

CSRF: dict[str, Any] = {"HTTP_X_CSRF": "1"}


@pytest.fixture
def async_redis_commands(monkeypatch):
    """Commands sent by any redis.asyncio client of this process, by name."""
    import redis.asyncio.client

    sent = []
    original = redis.asyncio.client.Redis.execute_command

    async def counting(self, *args, **kwargs):
        sent.append(args[0])
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(redis.asyncio.client.Redis, "execute_command", counting)
    return sent


@pytest.fixture
def database_cursors(monkeypatch):
    """Every database cursor opened from now on, in any thread."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    opened = []
    original = BaseDatabaseWrapper.cursor

    def counting(self):
        opened.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", counting)
    return opened


@pytest.mark.django_db(transaction=True)
def test_a_call_with_nothing_due_costs_one_mget_and_no_query(
    proxy_settings, echo, live_edge, redis_commands, async_redis_commands, database_cursors
):
    from django.test import Client

    alice = EdgeClient(login(Client()), live_edge)
    # The first call after login may publish the policy or note activity; the next ones not.
    assert alice.get("/api/proxy/echo/warm", **CSRF).status_code == 200
    del redis_commands[:], async_redis_commands[:], database_cursors[:]
    for _ in range(3):
        response = alice.get("/api/proxy/echo/x", **CSRF)
        assert response.status_code == 200
    assert echo.arrivals[-1].bearer.count(".") == 2
    assert async_redis_commands == ["MGET"] * 3
    assert redis_commands == []  # nothing through the sync client either
    assert database_cursors == []


@pytest.mark.django_db(transaction=True)
def test_the_tokens_type_comes_with_the_same_mget(
    proxy_settings, echo, live_edge, dpop_provider, async_redis_commands, database_cursors
):
    from django.test import Client

    use_provider(proxy_settings, dpop_provider, ec_pem())
    alice = EdgeClient(login(Client()), live_edge)
    assert alice.get("/api/proxy/echo/warm", **CSRF).status_code == 200
    del async_redis_commands[:], database_cursors[:]
    assert alice.get("/api/proxy/echo/x", **CSRF).status_code == 200
    # The record said "DPoP": the token went with a proof, and reading that cost nothing more.
    arrival = echo.arrivals[-1]
    assert arrival.header("Authorization") == f"DPoP {arrival.token}"
    assert arrival.dpop_claims["htu"] == f"{echo.url}/base/x"
    assert async_redis_commands == ["MGET"]
    assert database_cursors == []


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_call_costs_one_mget_and_no_query(
    proxy_settings, echo, live_edge, async_redis_commands, database_cursors
):
    from django.test import Client

    response = EdgeClient(Client(), live_edge).get("/api/proxy/open/x", **CSRF)
    assert response.status_code == 200
    assert async_redis_commands == ["MGET"]
    assert database_cursors == []


def _first_event_seconds(port, cookie, results):
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "GET",
        "/api/proxy/echo/events?count=3&interval=1",
        headers={"X-CSRF": "1", "Cookie": cookie},
    )
    response = conn.getresponse()
    first = None
    data = b""
    while chunk := response.read1(65536):
        data += chunk
        if first is None and b"\n\n" in data:
            first = time.monotonic() - started
    conn.close()
    results.append((first, data.count(b"data: tick")))


def _page_seconds(url_port):
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=30)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()
    return time.monotonic() - started


def test_open_streams_and_slow_clients_do_not_hold_pages(stack):
    """One worker with four page threads (the stack's site): 40 event streams and 20 clients
    that never finish their bodies, and pages still answer at once."""
    browser = stack.browser("alice")
    cookie = "sessionid=" + browser.cookies["sessionid"]
    slow = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", stack.site_port), timeout=10)
        sock.sendall(
            b"POST /auth/logout/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nonly 13 bytes"
        )
        slow.append(sock)
    results: list[tuple[float | None, int]] = []
    streams = [
        threading.Thread(target=_first_event_seconds, args=(stack.site_port, cookie, results))
        for _ in range(40)
    ]
    for thread in streams:
        thread.start()
    time.sleep(0.5)
    pages = [_page_seconds(stack.site_port) for _ in range(10)]
    for thread in streams:
        thread.join(30)
    for sock in slow:
        sock.close()
    assert len(results) == 40
    assert all(count == 3 for _, count in results), results
    firsts = [first for first, _ in results if first is not None]
    assert len(firsts) == 40
    assert max(firsts) < 3, results
    assert max(pages) < 1, pages
