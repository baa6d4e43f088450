"""accounts.protocol.discovery: where an issuer's metadata lives."""

import pytest

from accounts.protocol.discovery import discovery_url


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
