"""Logout against a hostile provider's revocation endpoint (RFC 7009): the refresh token is
revoked, and a provider that answers 503 ("try later") never keeps the user logged in here."""

import pytest

from tests.hostile.flows import log_in, session_info, stored_tokens
from tests.stack import leftover_keys

pytestmark = pytest.mark.django_db


def test_logout_revokes_the_refresh_token_at_the_provider(client, hostile, redis_client):
    assert log_in(client).status_code == 302
    refresh_token = stored_tokens(client).refresh_token
    assert client.post("/auth/logout/").status_code == 302
    assert hostile.revoked == [refresh_token]
    assert session_info(client) == {"authenticated": False}
    assert leftover_keys(redis_client) == []


def test_logout_ends_the_session_even_when_revocation_answers_503(client, hostile, redis_client):
    hostile.revocation_status = 503
    assert log_in(client).status_code == 302
    response = client.post("/auth/logout/")
    assert response.status_code == 302
    assert hostile.hits["/revoke"] == 1  # asked once; there is no later for an ended session
    assert hostile.revoked == []
    assert session_info(client) == {"authenticated": False}
    assert leftover_keys(redis_client) == []


@pytest.mark.parametrize("days", [2, 8])  # past the inactivity timeout; past the absolute lifetime
def test_a_session_that_runs_out_has_its_refresh_token_revoked(
    client, hostile, redis_client, monkeypatch, days
):
    from accounts.sessions import lifetimes

    assert log_in(client).status_code == 302
    refresh_token = stored_tokens(client).refresh_token
    later = lifetimes.now() + days * 86400
    monkeypatch.setattr(lifetimes, "now", lambda: later)
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/")
    assert hostile.revoked == [refresh_token]
    assert leftover_keys(redis_client) == []


@pytest.mark.parametrize(
    ("oauth_metadata", "revoked"),
    [
        ({}, True),  # RFC 8414 metadata publishes the endpoint the OpenID configuration lacks
        ({"issuer": "https://evil.test"}, False),  # another issuer's metadata is not used
        (None, False),  # no RFC 8414 metadata at all: nothing to revoke at, logout still works
    ],
)
def test_revocation_endpoint_from_rfc8414_metadata(
    client, hostile, redis_client, oauth_metadata, revoked
):
    hostile.discovery_changes = {"revocation_endpoint": None}
    hostile.oauth_metadata_changes = oauth_metadata
    assert log_in(client).status_code == 302
    refresh_token = stored_tokens(client).refresh_token
    assert client.post("/auth/logout/").status_code == 302
    assert hostile.revoked == ([refresh_token] if revoked else [])
    assert session_info(client) == {"authenticated": False}
