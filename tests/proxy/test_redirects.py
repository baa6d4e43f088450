"""proxy.redirects: an upstream's Location, pointed back through the proxy."""

import pytest

from proxy.redirects import rewrite_location
from tests.proxy.conftest import login

BASE = "http://10.0.0.5:8080/api"
REQUEST = "http://10.0.0.5:8080/api/notes/42?x=1"
PROXY = "/api/proxy/notes"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        # Into the upstream's base: through the proxy.
        ("/api/notes/43", "/api/proxy/notes/notes/43"),
        ("/api", "/api/proxy/notes"),
        ("/api/", "/api/proxy/notes/"),
        ("http://10.0.0.5:8080/api/login?next=%2F", "/api/proxy/notes/login?next=%2F"),
        ("HTTP://10.0.0.5:8080/api/x", "/api/proxy/notes/x"),
        ("43", "/api/proxy/notes/notes/43"),  # relative to the answered URL
        ("../list#top", "/api/proxy/notes/list#top"),
        ("?page=2", "/api/proxy/notes/notes/42?page=2"),
        # Anywhere else: left alone.
        ("https://login.example.com/authorize", "https://login.example.com/authorize"),
        ("https://10.0.0.5:8080/api/x", "https://10.0.0.5:8080/api/x"),  # another scheme
        ("http://10.0.0.5:9090/api/x", "http://10.0.0.5:9090/api/x"),  # another port
        ("/apix/y", "/apix/y"),  # outside the base, despite the shared prefix
        ("/other", "/other"),
        ("//evil.test/x", "//evil.test/x"),
        ("http://[broken", "http://[broken"),
    ],
)
def test_locations(location, expected):
    assert (
        rewrite_location(location, request_url=REQUEST, upstream_base=BASE, proxy_base=PROXY)
        == expected
    )


def test_an_upstream_at_its_origins_root():
    assert (
        rewrite_location(
            "/get",
            request_url="http://httpbin:80/redirect-to?url=/get",
            upstream_base="http://httpbin",
            proxy_base="/api/proxy/httpbin",
        )
        == "/api/proxy/httpbin/get"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("/base/elsewhere?a=1", "/api/proxy/echo/elsewhere?a=1"),
        ("{echo}/base/x", "/api/proxy/echo/x"),
        ("http://elsewhere.test/landing", "http://elsewhere.test/landing"),
    ],
)
def test_the_browser_is_sent_back_through_the_proxy(
    proxy_settings,
    echo,
    sent,
    received,
    make_client,
):
    client = login(make_client())
    response = client.get(
        "/api/proxy/echo/headers",
        {"h": "Location: " + sent.format(echo=echo.url)},
        HTTP_X_CSRF="1",
    )
    assert response.status_code == 200
    assert response["Location"] == received
