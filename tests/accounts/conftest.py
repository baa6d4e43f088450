from typing import Any

import pytest

from accounts.oidc.jwks import signing_keys
from tests.token_factory import JWKS_URI, SigningKey


@pytest.fixture
def key():
    return SigningKey("key-1")


@pytest.fixture
def published(monkeypatch, key):
    """The provider's JWKS endpoint, faked: a list we can change and a count of fetches."""
    state: dict[str, Any] = {"keys": [key.public_jwk], "fetches": 0}

    def fake_get_json(url):
        assert url == JWKS_URI
        state["fetches"] += 1
        return {"keys": list(state["keys"])}

    monkeypatch.setattr("accounts.oidc.jwks.provider_get_json", fake_get_json)
    signing_keys.clear()
    yield state
    signing_keys.clear()
