import pytest

from proxy.exceptions import ForeignOrigin, WebSocketNotAllowed
from proxy.headers import websocket_request_headers, websocket_subprotocols
from proxy.upstreams import DEFAULT_MAX_MESSAGE_BYTES, UpstreamConfigError, parse_upstream
from proxy.websocket_steps import (
    check_origin,
    check_websocket,
    relayed_close_code,
    site_origin,
    upstream_url,
)


@pytest.mark.parametrize(
    ("site_url", "origin"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://App.Example.com:443/", "https://app.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("", ""),
        ("ftp://x", ""),
    ],
)
def test_site_origin(site_url, origin):
    assert site_origin(site_url) == origin


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "https://evil.example",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.com.evil.example",
        "https://app.example.com/",
    ],
)
def test_only_the_sites_own_origin_passes(origin):
    check_origin("https://app.example.com", "https://app.example.com")
    with pytest.raises(ForeignOrigin):
        check_origin(origin, "https://app.example.com")


def test_no_site_url_refuses_every_origin():
    with pytest.raises(ForeignOrigin):
        check_origin("http://testserver", "")


def test_websocket_is_opt_in_and_validated():
    assert parse_upstream("a", "http://x").websocket is False
    assert parse_upstream("a", "http://x").max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES
    with pytest.raises(WebSocketNotAllowed):
        check_websocket(parse_upstream("a", "http://x"))
    check_websocket(parse_upstream("a", {"url": "http://x", "websocket": True}))
    for bad in ({"websocket": "yes"}, {"max_message_bytes": 0}, {"max_message_bytes": True}):
        with pytest.raises(UpstreamConfigError):
            parse_upstream("a", {"url": "http://x", **bad})


def test_upstream_url_follows_the_scheme():
    plain = parse_upstream("a", {"url": "http://x:8003/base", "websocket": True})
    secure = parse_upstream("a", {"url": "https://x/base", "websocket": True})
    assert upstream_url(plain, "/base/echo?q=1") == "ws://x:8003/base/echo?q=1"
    assert upstream_url(secure, "/base/echo") == "wss://x/base/echo"


@pytest.mark.parametrize(
    ("received", "sent"),
    [
        (None, 1000),
        (1000, 1000),
        (1005, 1000),
        (1006, 1014),
        (1015, 1014),
        (1001, 1001),
        (1009, 1009),
        (4401, 4401),
        (3000, 3000),
        (1004, 1000),
        (2000, 1000),
        (5000, 1000),
    ],
)
def test_close_codes(received, sent):
    assert relayed_close_code(received) == sent


def test_handshake_headers():
    pairs = [
        ("host", "site"),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("cookie", "sessionid=secret"),
        ("authorization", "Basic eA=="),
        ("origin", "https://site"),
        ("sec-websocket-key", "abc"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-extensions", "permessage-deflate"),
        ("sec-websocket-protocol", "chat.v2, chat.v1"),
        ("sec-websocket-protocol", "chat.v0"),
        ("x-csrf", "1"),
        ("user-agent", "UA"),
    ]
    headers = websocket_request_headers(
        pairs,
        client="10.0.0.1",
        csrf_header="X-CSRF",
        credentials={"Authorization": "Bearer tok"},
        forwarded_host="site",
        forwarded_proto="https",
    )
    assert headers == {
        "Origin": "https://site",
        "User-Agent": "UA",
        "X-Forwarded-For": "10.0.0.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "site",
        "Authorization": "Bearer tok",
    }
    assert websocket_subprotocols(pairs) == ["chat.v2", "chat.v1", "chat.v0"]
