"""The proxy as deployed: the site under gunicorn (gthread, one worker), real HTTP from the
browser's side, the sample API and the echo server behind it.

These are the properties only a real server shows: the raw path on the wire, server-sent events
arriving as they are sent, bodies streamed both ways in bounded memory, and the upstream
connection let go when the browser leaves.
"""

import hashlib
import http.client
import time

import pytest

from tests.proxy.servers import child_pids, rss_high_water_kib
from tests.stack import wait_until

pytestmark = pytest.mark.integration

CSRF = {"X-CSRF": "1"}
MiB = 1024 * 1024


@pytest.fixture
def browser(stack):
    # Per test: every test starts with an empty Redis, sessions included.
    return stack.browser("alice")


def raw_get(stack, target, headers=None, cookie=None):
    """One request with ``target`` sent exactly as written (requests would normalise it)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.site_port, timeout=10)
    all_headers = dict(CSRF, **(headers or {}))
    if cookie:
        all_headers["Cookie"] = cookie
    conn.request("GET", target, headers=all_headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def session_cookie(browser):
    return "sessionid=" + browser.cookies["sessionid"]


@pytest.mark.parametrize(
    "target",
    [
        "/api/proxy/echo/a%2Fb",
        "/api/proxy/echo/a%2fb",
        "/api/proxy/echo/..%2Fsecret",
        "/api/proxy/echo/%2e%2e/secret",
        "/api/proxy/echo/%252e%252e/secret",
        "/api/proxy/echo/a%5Cb",
        "/api/proxy/echo//evil.test/",
        "/api/proxy/echo/@evil.test",
        "/api/proxy/echo/http:%2F%2Fevil.test",
        "/api/proxy/echo/a%00b",
        "/api/proxy/echo/a%0D%0AX:1",
        "/api/proxy/ec%2Fho/x",
        "/api/proxy/echo/../echo/x",
        "/api/proxy/echo/..;/secret",
        "/api/proxy/echo/a/..;jsessionid=x/secret",
        "/api/proxy/echo/..%3B/secret",
        "/api/proxy/echo/%EF%BC%8E%EF%BC%8E/secret",
    ],
)
def test_path_attacks_on_the_wire_are_400(stack, browser, target):
    status, body = raw_get(stack, target, cookie=session_cookie(browser))
    assert status in {400, 404}, body
    assert stack.echo.arrivals == []


def test_the_raw_path_is_forwarded_byte_for_byte(stack, browser):
    status, _ = raw_get(
        stack, "/api/proxy/echo/a%20b/caf%C3%A9?q=%2F", cookie=session_cookie(browser)
    )
    assert status == 200
    assert stack.echo.arrivals[0].target == "/base/a%20b/caf%C3%A9?q=%2F"


def test_header_policy_on_the_wire(stack, browser):
    response = browser.get(
        stack.url + "/api/proxy/echo/h",
        headers={
            **CSRF,
            "Authorization": "Basic YWxpY2U6cHc=",
            "Connection": "keep-alive, X-Secret",
            "X-Secret": "hop",
            "Proxy-Authorization": "Basic x",
            "X-Forwarded-For": "198.51.100.1",
            "X-Forwarded-Host": "evil.test",
            "Forwarded": "for=1.2.3.4",
            "X-Trace": "t-1",
        },
        timeout=10,
    )
    assert response.status_code == 200
    arrival = stack.echo.arrivals[0]
    names = arrival.names()
    for never in ("cookie", "x-csrf", "x-secret", "proxy-authorization", "forwarded"):
        assert never not in names
    assert arrival.bearer.count(".") == 2
    assert arrival.header("Host") == f"127.0.0.1:{stack.echo.port}"
    assert arrival.header("X-Forwarded-For") == "198.51.100.1, 127.0.0.1"
    assert arrival.header("X-Forwarded-Host") == f"127.0.0.1:{stack.site_port}"
    assert arrival.header("X-Forwarded-Proto") == "http"
    assert arrival.header("X-Trace") == "t-1"
    # And back: never shared-cacheable, varies with the cookie.
    assert response.headers["Cache-Control"].startswith("private")
    assert "Cookie" in response.headers["Vary"]


def test_upstream_set_cookie_and_hop_headers_do_not_reach_the_browser(stack, browser):
    response = browser.get(
        stack.url + "/api/proxy/echo/headers",
        params=[
            ("h", "Set-Cookie: sessionid=stolen; Path=/"),
            ("h", "Connection: X-Hop"),
            ("h", "X-Hop: 1"),
            ("h", "Cache-Control: public, max-age=60"),
            ("h", "X-Kept: 2"),
        ],
        headers=CSRF,
        timeout=10,
    )
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "X-Hop" not in response.headers
    assert response.headers["X-Kept"] == "2"
    assert response.headers["Cache-Control"] == "private, max-age=60"
    assert browser.get(stack.url + "/auth/session/", timeout=10).json()["authenticated"]


def test_server_sent_events_arrive_as_they_are_sent(stack, browser):
    conn = http.client.HTTPConnection("127.0.0.1", stack.site_port, timeout=10)
    started = time.monotonic()
    conn.request(
        "GET",
        "/api/proxy/api/stream?count=3&interval=0.6",
        headers={**CSRF, "Cookie": session_cookie(browser), "Accept": "text/event-stream"},
    )
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    arrivals: list[tuple[float, bytes]] = []
    buffer = b""
    while len(arrivals) < 3:
        data = response.read1(65536)
        assert data, "the stream ended early"
        buffer += data
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            arrivals.append((time.monotonic() - started, event))
    conn.close()
    assert arrivals[0][1].startswith(b"id: 1\nevent: tick\ndata: ")
    # The first event is at the browser long before the last one is even sent.
    assert arrivals[0][0] < 0.5, arrivals
    assert arrivals[2][0] > 1.1, arrivals


def test_upstream_connection_is_released_when_the_browser_leaves(stack, browser):
    conn = http.client.HTTPConnection("127.0.0.1", stack.site_port, timeout=10)
    conn.request("GET", "/api/proxy/public/endless", headers=CSRF)
    response = conn.getresponse()
    assert response.status == 200
    assert len(response.read(MiB)) == MiB
    conn.sock.close()  # the browser tab closes mid-download
    conn.close()
    wait_until(stack.echo.state.endless_closed.is_set, 10, "the proxy to let go of the upstream")


def pattern_sha256(size):
    block = bytes(range(256)) * 256
    digest = hashlib.sha256()
    for _ in range(size // len(block)):
        digest.update(block)
    digest.update(block[: size % len(block)])
    return digest.hexdigest()


class Upload:
    """A request body of ``size`` bytes made on the fly, sent chunked (no length known)."""

    def __init__(self, size):
        self.size, self.sent = size, 0
        self.block = b"u" * MiB

    def __iter__(self):
        while self.sent < self.size:
            chunk = self.block[: min(MiB, self.size - self.sent)]
            self.sent += len(chunk)
            yield chunk

    def expected_sha256(self):
        digest = hashlib.sha256()
        for _ in range(self.size // MiB):
            digest.update(self.block)
        digest.update(self.block[: self.size % MiB])
        return digest.hexdigest()


class SizedUpload(Upload):
    """The same body with a known length: sent with Content-Length."""

    def __len__(self):
        return self.size


def upload(size, chunked):
    return Upload(size) if chunked else SizedUpload(size)


def test_100_mb_each_way_streams_in_bounded_memory(stack, browser):
    workers = child_pids(stack.site.process.proc.pid)
    assert len(workers) == 1
    worker = workers[0]
    url = stack.url + "/api/proxy/api"
    # Warm up every code path first, so the measurement is of the transfer, not of imports.
    for chunked in (False, True):
        warm = browser.post(
            url + "/upload", data=upload(4 * MiB, chunked), headers=CSRF, timeout=30
        )
        assert warm.status_code == 200
        warm = browser.get(
            url + "/big",
            params={"bytes": 4 * MiB, "chunked": int(chunked)},
            headers=CSRF,
            timeout=30,
        )
        assert len(warm.content) == 4 * MiB
    before = rss_high_water_kib(worker)

    size = 100 * MiB
    for chunked in (False, True):
        with browser.get(
            url + "/big",
            params={"bytes": size, "chunked": "1" if chunked else "0"},
            headers=CSRF,
            stream=True,
            timeout=30,
        ) as response:
            assert response.status_code == 200
            assert response.headers.get("Content-Length") == (None if chunked else str(size))
            digest, received = hashlib.sha256(), 0
            for chunk in response.iter_content(MiB):
                digest.update(chunk)
                received += len(chunk)
        assert received == size
        assert digest.hexdigest() == pattern_sha256(size)

    for chunked in (False, True):
        body = upload(size, chunked)
        response = browser.post(url + "/upload", data=body, headers=CSRF, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json() == {"bytes": size, "sha256": body.expected_sha256()}
        assert ("Content-Length" in response.request.headers) is not chunked

    growth_mib = (rss_high_water_kib(worker) - before) / 1024
    assert growth_mib < 30, f"the worker's peak memory grew by {growth_mib:.1f} MiB"


def raw_exchange(stack, head, body=b"", *, cookie):
    """Send ``head`` (request line and headers, without the blank line) and ``body`` byte for
    byte, close the sending side, and return the status and the JSON error code; (None, None)
    when the server closed the connection without an answer."""
    import json
    import socket

    with socket.create_connection(("127.0.0.1", stack.site_port), timeout=10) as sock:
        request = head + f"\r\nX-CSRF: 1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    if not answer:
        return None, None
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    try:
        code = json.loads(payload).get("error")
    except ValueError:
        code = None
    return int(status_line.split()[1]), code


POST = "POST /api/proxy/echo/upload HTTP/1.1\r\nHost: 127.0.0.1"
BIG = 100 * 1024  # over the replay limit (64 KiB): the body streams upstream


@pytest.mark.parametrize(
    ("headers", "body", "streamed"),
    [
        # A chunk size that is not hexadecimal.
        ("Transfer-Encoding: chunked", b"zz\r\nabc\r\n0\r\n\r\n", False),
        # A chunk without its CRLF.
        ("Transfer-Encoding: chunked", b"5\r\nabcdeXX0\r\n\r\n", False),
        # A chunked body that never ends.
        ("Transfer-Encoding: chunked", b"5\r\nabcde\r\n", False),
        # Fewer bytes than announced, for a buffered body.
        ("Content-Length: 100", b"only 13 bytes", False),
        # The same, for bodies that stream upstream.
        (f"Content-Length: {BIG + 10}", b"x" * BIG, True),
        ("Transfer-Encoding: chunked", b"%x\r\n" % BIG + b"x" * BIG + b"\r\nzz\r\n", True),
    ],
)
def test_malformed_request_bodies_are_refused(stack, browser, headers, body, streamed):
    status, code = raw_exchange(stack, f"{POST}\r\n{headers}", body, cookie=session_cookie(browser))
    # The server's own HTTP parser refuses a malformed chunk with a plain 400 before the proxy
    # sees it; a client that closes its side before the body is complete has gone, and the
    # server closes the connection without an answer. Never a 500, never a partial body passed
    # off as whole.
    assert (status, code) in {(400, "incomplete_body"), (400, None), (None, None)}
    assert browser.get(stack.url + "/healthz", timeout=10).status_code == 200
    if not streamed:
        # A buffered body is checked whole before the upstream is contacted.
        assert stack.echo.arrivals == []


def test_a_transfer_coding_besides_chunked_is_refused_not_stripped(stack, browser):
    status, code = raw_exchange(
        stack,
        f"{POST}\r\nTransfer-Encoding: gzip, chunked",
        b"3\r\nabc\r\n0\r\n\r\n",
        cookie=session_cookie(browser),
    )
    # The server itself may refuse it (400, or 501 from uvicorn's parser) before the proxy sees
    # it; either way nobody forwards a body whose coding was dropped.
    assert (status, code) in {(400, None), (501, None), (501, "unsupported_transfer_coding")}
    assert stack.echo.arrivals == []
