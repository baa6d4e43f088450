"""Tokens for other APIs (multiple audiences), from the real local provider with RFC 8707
resource indicators: asked for at login, obtained with the refresh grant, kept per audience."""

import json
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from django.contrib.auth.models import User
from django.test import RequestFactory

from accounts.api import get_access_token
from accounts.sessions.store import SessionStore
from accounts.tokens.record import load_tokens
from tests.conftest import SECOND_API
from tests.stack import API_AUDIENCE, sign_in_at_provider

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"


@pytest.fixture
def settings_for_two_apis(oidc_settings):
    oidc_settings.OIDC_AUDIENCE = API_AUDIENCE
    oidc_settings.OIDC_EXTRA_AUDIENCES = [SECOND_API]
    return oidc_settings


def audience_of(token):
    return jwt.decode(token, options={"verify_signature": False})["aud"]


def request_of(client):
    """A request carrying ``client``'s session, as a view would see it."""
    request = RequestFactory().get("/")
    request.session = SessionStore(client.cookies["sessionid"].value)
    request.user = User.objects.get(oidc_identities__subject="alice")
    return request


@pytest.fixture
def alice(client, settings_for_two_apis, provider):
    # The local provider offers PAR, so both resource indicators travel in the pushed request:
    # the second API's token below exists only because the grant names it.
    location = client.get("/auth/login/")["Location"]
    callback = sign_in_at_provider(requests.Session(), location, "alice", stop_at=CALLBACK)
    assert client.get(callback).status_code == 302
    provider.reset_stats()
    return client


def test_a_token_for_the_second_api_comes_from_the_refresh_grant_and_is_kept(alice, provider):
    request = request_of(alice)
    default = get_access_token(request)
    assert audience_of(default) == API_AUDIENCE

    second = get_access_token(request_of(alice), audience=SECOND_API)
    assert audience_of(second) == SECOND_API
    assert provider.stats()["refresh_grants"] == 1

    # Kept per audience: asking again costs nothing.
    assert get_access_token(request_of(alice), audience=SECOND_API) == second
    assert get_access_token(request_of(alice)) == default
    assert provider.stats()["refresh_grants"] == 1


def test_the_rotated_refresh_token_keeps_working_for_the_main_token(alice, provider):
    before = load_tokens(SessionStore(alice.cookies["sessionid"].value))
    get_access_token(request_of(alice), audience=SECOND_API)
    after = load_tokens(SessionStore(alice.cookies["sessionid"].value))
    assert after.refresh_token != before.refresh_token  # type: ignore[union-attr]  # rotated by the provider
    assert after.access_token == before.access_token  # type: ignore[union-attr]  # the main token is untouched

    renewed = get_access_token(request_of(alice), force=True)
    assert audience_of(renewed) == API_AUDIENCE
    assert provider.stats() == {
        "refresh_grants": 2,
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }


def test_concurrent_requests_for_the_second_api_refresh_once(alice, provider):
    with ThreadPoolExecutor(10) as pool:
        tokens = list(
            pool.map(lambda _: get_access_token(request_of(alice), audience=SECOND_API), range(10))
        )
    assert len(set(tokens)) == 1
    assert provider.stats()["refresh_grants"] == 1
    assert provider.stats()["refresh_failures"] == 0


def test_an_api_the_grant_does_not_cover_is_a_clear_error(alice):
    from accounts.exceptions import TokenUnavailable

    with pytest.raises(TokenUnavailable, match="invalid_target"):
        get_access_token(request_of(alice), audience="http://127.0.0.1:9999")
    # And the session survives it.
    assert json.loads(alice.get("/auth/session/").content)["authenticated"] is True
