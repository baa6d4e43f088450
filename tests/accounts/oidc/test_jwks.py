"""accounts.oidc.jwks: the provider's keys, as the ID-token checks get them."""

import pytest

from accounts.exceptions import InvalidIDToken, ProviderUnavailable
from accounts.oidc.jwks import signing_keys
from tests.token_factory import JWKS_URI, SigningKey


@pytest.fixture
def provider_down(monkeypatch):
    def unreachable(url):
        raise ProviderUnavailable("The identity provider could not be reached.")

    def go_down():
        monkeypatch.setattr("accounts.oidc.jwks.provider_get_json", unreachable)

    return go_down


def test_a_published_key_comes_back_as_a_pyjwk(key, published):
    assert signing_keys.signing_key(JWKS_URI, "key-1", "RS256").key_id == "key-1"


def test_without_keys_an_unreachable_provider_is_unavailable(published, provider_down):
    provider_down()
    with pytest.raises(ProviderUnavailable):
        signing_keys.signing_key(JWKS_URI, "key-1", "RS256")


def test_keys_already_fetched_outlive_a_provider_outage(key, published, provider_down, settings):
    signing_keys.signing_key(JWKS_URI, "key-1", "RS256")
    settings.OIDC_JWKS_TTL = 0  # every lookup now wants a fresh copy
    provider_down()
    assert signing_keys.signing_key(JWKS_URI, "key-1", "RS256").key_id == "key-1"
    with pytest.raises(InvalidIDToken, match="does not publish"):
        signing_keys.signing_key(JWKS_URI, "rotated", "RS256")


def test_another_jwks_uri_is_fetched_afresh(key, published, monkeypatch):
    signing_keys.signing_key(JWKS_URI, "key-1", "RS256")
    other = SigningKey("other-1")
    monkeypatch.setattr(
        "accounts.oidc.jwks.provider_get_json", lambda url: {"keys": [other.public_jwk]}
    )
    assert signing_keys.signing_key("https://elsewhere.test/jwks", "other-1", "RS256")
    with pytest.raises(InvalidIDToken):
        signing_keys.signing_key("https://elsewhere.test/jwks", "key-1", "RS256")
