"""proxy.paths: what may follow /api/proxy/<upstream> on the wire."""

import pytest

from proxy.exceptions import UnsafePath
from proxy.paths import check_path, check_query, raw_request_path, split_forwarded_path

SAFE = [
    "",
    "/",
    "/notes",
    "/notes/",
    "/notes/42",
    "/a%20b",  # an encoded space
    "/caf%C3%A9",  # UTF-8, encoded
    "/v1/items;matrix=1",
    "/file.tar.gz",
    "/.well-known/thing",  # a dot inside a segment is fine
    "/a..;b",  # not a dot segment, with or without its parameter
    "/...;x",
    "/%EF%BC%A1",  # full-width capital A (U+FF21): NFKC makes it "A", no structure
    "/a..b",
    "/x/y:z",  # a colon after the first segment is no scheme
    "/~user/-_.!$&'()*+,;=",
]

ATTACKS = [
    # Dot segments an upstream reads after dropping ";" parameters (Tomcat, Spring) or after
    # Unicode NFKC (full-width dots and slashes).
    "/..;",
    "/.;",
    "/..;/secret",
    "/a/..;jsessionid=x/secret",
    "/..%3B/secret",
    "/..%3b",
    "/%EF%BC%8E%EF%BC%8E/secret",  # two full-width full stops (U+FF0E)
    "/%EF%BC%8E/secret",  # one full-width full stop
    "/%EF%BC%8E%EF%BC%8E;x/secret",
    "/a%EF%BC%8F..%EF%BC%8Fsecret",  # full-width solidus (U+FF0F) around ".."
    "/a%EF%BC%BCb",  # full-width backslash
    "/%E2%80%A5/secret",  # two dot leader (U+2025): NFKC ".."
    "/..",
    "/../secret",
    "/a/../../secret",
    "/a/..",
    "/./a",
    "/a/./b",
    "/%2e%2e/secret",
    "/%2E%2E/secret",
    "/.%2e/secret",
    "/%2e./secret",
    "/%2e",
    "/%252e%252e/secret",  # double encoding
    "/%25",
    "/a%2fb",  # encoded slash
    "/a%2Fb",
    "/a%5cb",  # encoded backslash
    "/a\\..\\b",
    "/a\\b",
    "//evil.test/x",
    "/a//b",
    "/@evil.test",
    "/a@b",
    "/a%40b",  # encoded @
    "/http://evil.test/",
    "/http:%2f%2fevil.test",
    "/javascript:alert(1)",
    "/a%00b",
    "/a%0d%0aSet-Cookie:x",
    "/a%0ab",
    "/a%09b",
    "/a%7fb",
    "/a b",
    "/a\tb",
    "/a\r\nb",
    "/a\x00b",
    "/a#frag",
    "/a?b",  # a query never reaches this function; a "?" here was smuggled
    "/caf\u00e9",  # raw non-ASCII
    "/%zz",
    "/%4",
    "/abc%",
    "/%c3%28",  # invalid UTF-8
    "notes",  # no leading slash
]


@pytest.mark.parametrize("path", SAFE)
def test_safe_paths_are_forwarded_as_sent(path):
    assert check_path(path) == path


@pytest.mark.parametrize("path", ATTACKS)
def test_attacks_are_refused(path):
    with pytest.raises(UnsafePath):
        check_path(path)


@pytest.mark.parametrize("query", ["", "a=1&b=2", "q=%2F..%2F", "x=a%20b", "next=/a?b"])
def test_queries_pass_as_sent(query):
    assert check_query(query) == query


@pytest.mark.parametrize("query", ["a=1 2", "a=\r\nb", "a=#x", "a=\x00", "a=caf\u00e9"])
def test_bad_queries_are_refused(query):
    with pytest.raises(UnsafePath):
        check_query(query)


@pytest.mark.parametrize(
    ("raw", "prefix", "rest"),
    [
        ("/api/proxy/notes/a/b", "/api/proxy/notes", "/a/b"),
        ("/api/proxy/notes", "/api/proxy/notes", ""),
        ("/api/proxy/notes/", "/api/proxy/notes", "/"),
        ("/api/proxy/n%6Ftes/x", "/api/proxy/notes", "/x"),
        ("/app/api/proxy/notes/x", "/app/api/proxy/notes", "/x"),  # under a SCRIPT_NAME
    ],
)
def test_the_forwarded_part_follows_the_route(raw, prefix, rest):
    assert split_forwarded_path(raw, prefix) == rest


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        # Django decoded %2F, so its route saw upstream "no" and a path "/tes/x".
        ("/api/proxy/no%2Ftes/x", "/api/proxy/no"),
        ("/api/proxy", "/api/proxy/notes"),
    ],
)
def test_an_encoded_slash_cannot_shift_the_route(raw, prefix):
    with pytest.raises(UnsafePath):
        split_forwarded_path(raw, prefix)


def test_raw_path_comes_from_the_server_when_it_keeps_one():
    environ = {"RAW_URI": "/api/proxy/x/a%2Fb?q=1", "PATH_INFO": "/api/proxy/x/a/b"}
    assert raw_request_path(environ, "/api/proxy/x/a/b") == "/api/proxy/x/a%2Fb"
    assert raw_request_path({"REQUEST_URI": "/p%2e?x"}, "/p.") == "/p%2e"
    assert raw_request_path({"RAW_URI": "http://site.test/api/proxy/x?q"}, "") == "/api/proxy/x"


def test_without_a_raw_path_the_decoded_one_is_reencoded():
    # A decoded "%" (from "%25") comes back encoded, and is then refused as double encoding.
    assert raw_request_path({}, "/api/proxy/x/%2e") == "/api/proxy/x/%252e"
    assert raw_request_path({}, "/api/proxy/x/caf\u00e9") == "/api/proxy/x/caf%C3%A9"
