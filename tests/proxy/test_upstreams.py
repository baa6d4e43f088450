"""proxy.upstreams: the allow-list and its defaults."""

import pytest

from proxy.exceptions import UnknownUpstream
from proxy.upstreams import (
    UpstreamConfigError,
    configured_upstreams,
    get_upstream,
    parse_upstream,
)


def test_a_bare_url_gets_the_defaults():
    u = parse_upstream("notes", "https://api.example.com/v1/")
    assert (u.origin, u.base_path, u.auth) == ("https://api.example.com", "/v1", "required")
    assert u.methods == {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
    assert (u.connect_timeout, u.read_timeout) == (3.05, 30.0)
    assert u.max_body_bytes == 10 * 1024 * 1024
    assert u.audience is None
    # What the proxy sends: the pool is keyed by the origin, the target goes on the request line.
    assert u.target_for("/a", "b=1") == "/v1/a?b=1"
    assert u.target_for("", "") == "/v1"


def test_an_upstream_at_the_root_gets_a_slash_as_its_target():
    u = parse_upstream("root", "http://127.0.0.1:8002")
    assert (u.origin, u.base_path) == ("http://127.0.0.1:8002", "")
    assert u.target_for("", "") == "/"
    assert u.target_for("/a", "") == "/a"


def test_every_field_is_read():
    u = parse_upstream(
        "events",
        {
            "url": "http://127.0.0.1:8002",
            "auth": "optional",
            "methods": ["get"],
            "connect_timeout": 1,
            "read_timeout": None,
            "max_body_bytes": 0,
            "audience": "https://api.test",
            "scope": "read:events",
        },
    )
    assert u.auth == "optional"
    assert u.methods == {"GET"}
    assert u.timeout.connect_timeout == 1.0
    assert u.timeout.read_timeout is None
    assert (u.max_body_bytes, u.audience, u.scope) == (0, "https://api.test", "read:events")


@pytest.mark.parametrize(
    ("name", "entry", "complaint"),
    [
        ("a/b", "https://x.test", "name"),
        ("", "https://x.test", "name"),
        ("x", 42, "URL or a dict"),
        ("x", {"url": "ftp://x.test"}, "http"),
        ("x", {"url": "/relative"}, "http"),
        ("x", {"url": "https://x.test/?a=1"}, "query"),
        ("x", {"url": "https://user:pw@x.test/"}, "credentials"),
        ("x", {"url": "https://x.test", "auth": "maybe"}, "auth"),
        ("x", {"url": "https://x.test", "methods": ["TRACE"]}, "methods"),
        ("x", {"url": "https://x.test", "methods": []}, "methods"),
        ("x", {"url": "https://x.test", "read_timeout": 0}, "read_timeout"),
        ("x", {"url": "https://x.test", "connect_timeout": "3"}, "connect_timeout"),
        ("x", {"url": "https://x.test", "max_body_bytes": -1}, "max_body_bytes"),
        ("x", {"url": "https://x.test", "max_body_bytes": 1.5}, "max_body_bytes"),
        ("x", {"url": "https://x.test", "audience": ""}, "audience"),
        ("x", {"url": "https://x.test", "timeout": 3}, "unknown fields"),
        ("x", {"url": "https://x.test", "dpop": "true"}, "dpop must be true or false"),
        ("x", {"url": "https://x.test", "dpop": 1}, "dpop must be true or false"),
        ("x", {"url": "https://x.test", "dpop": True, "auth": "none"}, "dpop needs a token"),
    ],
)
def test_malformed_entries_are_refused_with_the_field_named(name, entry, complaint):
    with pytest.raises(UpstreamConfigError, match=complaint):
        parse_upstream(name, entry)


def test_dpop_is_off_unless_asked_for():
    assert parse_upstream("notes", "https://x.test").dpop is False
    assert parse_upstream("notes", {"url": "https://x.test", "dpop": True}).dpop is True


def test_a_malformed_entry_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="dpop"):
        parse_upstream("x", {"url": "https://x.test", "dpop": "yes"})


def test_lookups_follow_the_setting(settings):
    settings.PROXY_UPSTREAMS = {"a": "http://127.0.0.1:1"}
    assert get_upstream("a").netloc == "127.0.0.1:1"
    first = configured_upstreams()
    assert configured_upstreams() is first  # parsed once per value of the setting
    settings.PROXY_UPSTREAMS = {"b": "http://127.0.0.1:2"}
    with pytest.raises(UnknownUpstream):
        get_upstream("a")
    assert get_upstream("b").netloc == "127.0.0.1:2"
