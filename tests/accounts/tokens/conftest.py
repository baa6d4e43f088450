"""The provider's token endpoint, faked for the refresh tests that need no real provider."""

import json

import pytest
import requests

from accounts.oidc.discovery import ProviderMetadata
from tests.token_factory import CLIENT_ID, ISSUER, JWKS_URI

TOKEN_ENDPOINT = "https://issuer.test/token"


class FakeTokenEndpoint:
    def __init__(self):
        self.answers = []
        self.requests = []

    def answer(self, status, body):
        self.answers.append((status, body))

    def __call__(self, url, data, *, auth=None, timeout=None):
        assert url == TOKEN_ENDPOINT
        self.requests.append(dict(data))
        status, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return response


@pytest.fixture
def endpoint(monkeypatch, settings, published):
    settings.OIDC_CLIENT_ID = CLIENT_ID
    metadata = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint="https://issuer.test/auth",
        token_endpoint=TOKEN_ENDPOINT,
        jwks_uri=JWKS_URI,
    )
    monkeypatch.setattr("accounts.tokens.refresh_grant.provider_metadata", lambda: metadata)
    fake = FakeTokenEndpoint()
    monkeypatch.setattr("accounts.tokens.refresh_grant.provider_post_form", fake)
    return fake
