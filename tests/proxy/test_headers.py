"""proxy.headers: the header policy, one row per rule."""

import pytest

from proxy.headers import (
    browser_response_headers,
    connection_tokens,
    private_cache_control,
    upstream_request_headers,
)


def forwarded(extra_environ, token="tok"):  # noqa: S107
    environ = {
        "REQUEST_METHOD": "GET",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_HOST": "site.test",
        "HTTP_X_CSRF": "1",
        **extra_environ,
    }
    return upstream_request_headers(
        environ,
        csrf_header="X-CSRF",
        credentials={"Authorization": f"Bearer {token}"} if token else {},
        forwarded_host="site.test",
        forwarded_proto="https",
    )


@pytest.mark.parametrize(
    ("environ_key", "value"),
    [
        ("HTTP_COOKIE", "sessionid=secret"),
        ("HTTP_AUTHORIZATION", "Basic YWxpY2U6cHc="),
        ("HTTP_HOST", "evil.test"),
        ("HTTP_X_CSRF", "1"),
        ("HTTP_PROXY_AUTHORIZATION", "Basic x"),
        ("HTTP_PROXY_CONNECTION", "keep-alive"),
        ("HTTP_PROXY_ANYTHING", "x"),
        ("HTTP_CONNECTION", "keep-alive"),
        ("HTTP_KEEP_ALIVE", "timeout=5"),
        ("HTTP_TE", "trailers"),
        ("HTTP_TRAILER", "X-Checksum"),
        ("HTTP_TRANSFER_ENCODING", "chunked"),
        ("HTTP_UPGRADE", "websocket"),
        ("HTTP_EXPECT", "100-continue"),
        ("HTTP_FORWARDED", "for=1.2.3.4;host=evil.test"),
        ("HTTP_DPOP", "a.proof.of-the-browsers"),
        ("CONTENT_LENGTH", "12"),
    ],
)
def test_request_headers_never_forwarded(environ_key, value):
    headers = {k.lower(): v for k, v in forwarded({environ_key: value}).items()}
    name = environ_key.removeprefix("HTTP_").replace("_", "-").lower()
    if name == "authorization":
        assert headers["authorization"] == "Bearer tok"  # ours, never the browser's
    elif name == "host":
        assert "host" not in headers
    else:
        assert name not in headers


@pytest.mark.parametrize(
    ("environ_key", "value", "header"),
    [
        ("HTTP_ACCEPT", "application/json", "Accept"),
        ("HTTP_ACCEPT_ENCODING", "gzip", "Accept-Encoding"),
        ("HTTP_ACCEPT_LANGUAGE", "fr", "Accept-Language"),
        ("CONTENT_TYPE", "application/json", "Content-Type"),
        ("HTTP_IF_NONE_MATCH", '"v1"', "If-None-Match"),
        ("HTTP_RANGE", "bytes=0-9", "Range"),
        ("HTTP_USER_AGENT", "Browser/1", "User-Agent"),
        ("HTTP_X_REQUEST_ID", "r-1", "X-Request-Id"),
        ("HTTP_LAST_EVENT_ID", "7", "Last-Event-Id"),
    ],
)
def test_request_headers_forwarded(environ_key, value, header):
    assert forwarded({environ_key: value})[header] == value


def test_headers_named_in_connection_are_dropped():
    headers = forwarded({"HTTP_CONNECTION": "close, X-Secret", "HTTP_X_SECRET": "s"})
    assert "X-Secret" not in headers


def test_csrf_header_name_follows_the_setting():
    environ = {"HTTP_X_REQUESTED_BY": "app", "HTTP_X_CSRF": "1"}
    headers = upstream_request_headers(
        environ,
        csrf_header="X-Requested-By",
        credentials={},
        forwarded_host="h",
        forwarded_proto="http",
    )
    assert "X-Requested-By" not in headers
    assert headers["X-Csrf"] == "1"  # just another header now


def test_forwarded_for_is_appended_proto_and_host_are_set():
    headers = forwarded(
        {
            "HTTP_X_FORWARDED_FOR": "198.51.100.1",
            "HTTP_X_FORWARDED_HOST": "evil.test",
            "HTTP_X_FORWARDED_PROTO": "gopher",
        }
    )
    assert headers["X-Forwarded-For"] == "198.51.100.1, 203.0.113.7"
    assert headers["X-Forwarded-Host"] == "site.test"
    assert headers["X-Forwarded-Proto"] == "https"
    assert forwarded({})["X-Forwarded-For"] == "203.0.113.7"


def test_the_token_goes_with_this_sites_proof_only_never_the_browsers():
    environ = {"HTTP_DPOP": "the.browsers.proof", "HTTP_AUTHORIZATION": "DPoP theirs"}
    headers = upstream_request_headers(
        environ,
        csrf_header="X-CSRF",
        credentials={"Authorization": "DPoP tok", "DPoP": "our.proof.sig"},
        forwarded_host="h",
        forwarded_proto="https",
    )
    assert headers["Authorization"] == "DPoP tok"
    assert headers["DPoP"] == "our.proof.sig"
    without = upstream_request_headers(
        environ, csrf_header="X-CSRF", credentials={}, forwarded_host="h", forwarded_proto="https"
    )
    assert "Authorization" not in without
    assert "DPoP" not in without


def test_no_token_no_authorization():
    assert "Authorization" not in forwarded({"HTTP_AUTHORIZATION": "Bearer x"}, token=None)


def test_empty_content_type_is_not_sent():
    assert "Content-Type" not in forwarded({"CONTENT_TYPE": ""})


def upstream_answer(*pairs, forward_set_cookie=False):
    return browser_response_headers(list(pairs), forward_set_cookie=forward_set_cookie)


@pytest.mark.parametrize(
    "name",
    [
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Set-Cookie",
        "DPoP-Nonce",
    ],
)
def test_response_headers_never_forwarded(name):
    headers, cookies = upstream_answer((name, "x"))
    assert name.lower() not in {k.lower() for k in headers}
    assert cookies == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Content-Type", "application/json"),
        ("Content-Length", "12"),
        ("Content-Encoding", "gzip"),
        ("ETag", '"v1"'),
        ("Location", "https://elsewhere.test/"),
        ("WWW-Authenticate", 'Bearer error="invalid_token"'),
        ("Retry-After", "3"),
        ("X-Request-Id", "r-1"),
    ],
)
def test_response_headers_forwarded(name, value):
    headers, _ = upstream_answer((name, value))
    assert {k.lower(): v for k, v in headers.items()}[name.lower()] == value


def test_response_headers_named_in_connection_are_dropped():
    headers, _ = upstream_answer(("Connection", "X-Hop"), ("X-Hop", "1"), ("X-Kept", "2"))
    assert "X-Hop" not in headers
    assert headers["X-Kept"] == "2"


def test_repeated_response_headers_are_joined():
    headers, _ = upstream_answer(("Link", "<a>; rel=x"), ("Link", "<b>; rel=y"))
    assert headers["Link"] == "<a>; rel=x, <b>; rel=y"


def test_set_cookie_can_be_allowed_and_stays_apart():
    _, cookies = upstream_answer(
        ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2"), forward_set_cookie=True
    )
    assert cookies == ["a=1; Path=/", "b=2"]


@pytest.mark.parametrize(
    ("upstream", "browser"),
    [
        (None, "private"),
        ("", "private"),
        ("public, max-age=600", "private, max-age=600"),
        ("max-age=60, s-maxage=3600", "private, max-age=60"),
        ("no-store", "private, no-store"),
        ("private, no-cache", "private, no-cache"),
        ("public, proxy-revalidate, must-revalidate", "private, must-revalidate"),
        ("S-MAXAGE=5, Public", "private"),
    ],
)
def test_answers_are_never_shared_cacheable(upstream, browser):
    assert private_cache_control(upstream) == browser
    pairs = [("Cache-Control", upstream)] if upstream is not None else []
    assert upstream_answer(*pairs)[0]["Cache-Control"] == browser


def test_connection_tokens():
    assert connection_tokens(" close , X-Foo,,") == {"close", "x-foo"}
    assert connection_tokens(None) == frozenset()
