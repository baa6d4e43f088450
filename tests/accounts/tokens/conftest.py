"""The provider's token endpoint, faked for the refresh tests that need no real provider."""

import json
import time

import pytest
import requests

from accounts.oidc.discovery import ProviderMetadata
from accounts.tokens.record import TokenRecord
from tests.token_factory import CLIENT_ID, ISSUER, JWKS_URI, claims

TOKEN_ENDPOINT = "https://issuer.test/token"


class FakeTokenEndpoint:
    def __init__(self):
        self.answers = []
        self.requests = []

    def answer(self, status, body):
        self.answers.append((status, body))

    def __call__(self, url, data, *, auth=None, headers=None, timeout=None):
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
    monkeypatch.setattr("accounts.oidc.client_auth.provider_post_form", fake)
    return fake


def expired_record(key, *, access_token, refresh_token, **id_claims):
    """A record whose access token expired a second ago, five minutes after it was issued, with
    an ID token ``key`` signed."""
    now = time.time()
    signed = claims(**id_claims)
    return TokenRecord(
        access_token=access_token,
        id_token=key.sign(signed),
        refresh_token=refresh_token,
        token_type="Bearer",
        scope="openid",
        access_token_expires_at=now - 1,
        id_token_expires_at=now + 300,
        refresh_token_expires_at=None,
        claims=signed,
        obtained_at=now - 300,
    )
