"""accounts.protocol.discovery: where an issuer's metadata lives."""

import pytest

from accounts.protocol.discovery import authorization_server_metadata_url, discovery_url


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://login.example", "https://login.example/.well-known/openid-configuration"),
        ("https://login.example/", "https://login.example/.well-known/openid-configuration"),
        (
            "https://login.example/realms/main",
            "https://login.example/realms/main/.well-known/openid-configuration",
        ),
    ],
)
def test_the_path_is_appended_to_the_issuer_without_its_trailing_slash(issuer, url):
    assert discovery_url(issuer) == url


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://op.test", "https://op.test/.well-known/oauth-authorization-server"),
        ("https://op.test/", "https://op.test/.well-known/oauth-authorization-server"),
        (
            "https://op.test/o/tenant",
            "https://op.test/.well-known/oauth-authorization-server/o/tenant",
        ),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/.well-known/oauth-authorization-server"),
    ],
)
def test_rfc8414_metadata_url_puts_the_well_known_part_before_the_path(issuer, url):
    assert authorization_server_metadata_url(issuer) == url
