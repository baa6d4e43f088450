"""accounts.resource_server.drf: RFC 6750 answers from a Django REST framework API, and never a
500 for a configuration the system checks name."""

import pytest
from rest_framework.test import APIRequestFactory

from accounts.resource_server import AccessTokenValidator
from accounts.resource_server.drf import HasScopes
from tests.accounts.resource_server.drf_views import notes_view
from tests.accounts.resource_server.keys import API, ISSUER, KeyServer, access_claims
from tests.token_factory import SigningKey


@pytest.fixture(scope="module")
def key():
    return SigningKey("drf-1")


@pytest.fixture
def keys(key):
    server = KeyServer(key)
    yield server
    server.stop()


def call(view, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return view(APIRequestFactory().get("/notes", **headers))


@pytest.fixture
def notes(keys):
    validator = AccessTokenValidator(issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri)
    return notes_view(validator, (HasScopes,), required_scopes=["read:notes"])


def test_a_token_with_the_scopes_passes(notes, key):
    answer = call(notes, key.sign(access_claims(scope="read:notes")))
    assert (answer.status_code, answer.data) == (200, {"sub": "alice", "scopes": ["read:notes"]})


def test_no_token_is_401_with_a_bare_challenge(notes):
    answer = call(notes)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api", DPoP algs="RS256 PS256 ES256"'


def test_a_bad_token_is_401_invalid_token(notes, key):
    answer = call(notes, key.sign(access_claims(aud="elsewhere")))
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')


def test_a_token_without_the_scope_is_403_insufficient_scope(notes, key):
    answer = call(notes, key.sign(access_claims(scope="openid")))
    assert answer.status_code == 403
    challenge = answer["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert challenge.endswith('scope="read:notes"')
    assert answer.data["detail"].code == "insufficient_scope"


def test_scopes_can_be_named_on_the_permission(keys, key):
    validator = AccessTokenValidator(issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri)
    view = notes_view(validator, (HasScopes.require("write:notes"),))
    assert call(view, key.sign(access_claims(scope="read:notes"))).status_code == 403
    assert call(view, key.sign(access_claims(scope="write:notes"))).status_code == 200


def test_keys_that_cannot_be_fetched_are_503_not_401():
    validator = AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri="http://127.0.0.1:9/jwks", http_timeout=1
    )
    answer = call(notes_view(validator), SigningKey().sign(access_claims()))
    assert answer.status_code == 503


def test_a_missing_audience_is_503_not_500(settings, key):
    settings.OIDC_AUDIENCE = ""
    settings.RESOURCE_SERVER_AUDIENCE = ""
    answer = call(notes_view(None), key.sign(access_claims()))
    assert answer.status_code == 503
    assert answer.data["detail"].code == "temporarily_unavailable"
