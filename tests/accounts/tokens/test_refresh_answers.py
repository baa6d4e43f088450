"""How each kind of refresh answer is handled (RFC 6749 section 6, OIDC Core 12.2).

The token endpoint is a fake HTTP peer here, so each answer can be exactly what a provider might
send; the rest (session, Redis, middleware, ID token checks) is real.
"""

import dataclasses
import logging
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from accounts.models import SessionPolicy
from accounts.sessions.store import SessionStore
from accounts.tokens.record import TokenRecord, load_tokens, store_tokens
from tests.accounts.tokens.conftest import expired_record
from tests.stack import leftover_keys
from tests.token_factory import CLIENT_ID, claims

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(client, key):
    """A logged-in user whose access token expired a second ago."""
    user = User.objects.create_user("alice")
    client.force_login(user)
    store = SessionStore(client.cookies["sessionid"].value)
    store_tokens(store, expired_record(key, access_token="old-access", refresh_token="old-refresh"))
    return store


def stored(session):
    return load_tokens(SessionStore(session.session_key))


def api_get(client):
    return client.get("/auth/session/", HTTP_ACCEPT="application/json")


def test_sends_the_refresh_grant_with_the_current_refresh_token(client, session, endpoint):
    endpoint.answer(200, {"access_token": "new-access", "token_type": "Bearer", "expires_in": 60})
    assert api_get(client).status_code == 200
    assert endpoint.requests == [{"grant_type": "refresh_token", "refresh_token": "old-refresh"}]


def test_no_refresh_token_in_the_answer_keeps_the_old_one(client, session, endpoint):
    endpoint.answer(200, {"access_token": "new-access", "token_type": "bearer", "expires_in": 60})
    api_get(client)
    record = stored(session)
    assert record.access_token == "new-access"
    assert record.refresh_token == "old-refresh"


def test_a_new_refresh_token_replaces_the_old_one(client, session, endpoint):
    endpoint.answer(
        200,
        {"access_token": "a2", "refresh_token": "r2", "token_type": "Bearer", "expires_in": 60},
    )
    api_get(client)
    session_record = stored(session)
    assert session_record.refresh_token == "r2"
    # The next renewal presents r2, never the consumed old one.
    store_tokens(
        SessionStore(session.session_key),
        TokenRecord(**{**session_record.to_json(), "access_token_expires_at": time.time() - 1}),
    )
    endpoint.answer(200, {"access_token": "a3", "token_type": "Bearer", "expires_in": 60})
    api_get(client)
    assert endpoint.requests[-1]["refresh_token"] == "r2"


def test_token_type_is_compared_without_case(client, session, endpoint):
    endpoint.answer(200, {"access_token": "new-access", "token_type": "BEARER", "expires_in": 60})
    assert api_get(client).status_code == 200


def test_missing_expires_in_reads_the_jwt_access_tokens_exp(client, session, endpoint, key):
    exp = int(time.time()) + 900
    access = key.sign({"sub": "alice", "exp": exp, "aud": "https://api.test"})
    endpoint.answer(200, {"access_token": access, "token_type": "Bearer"})
    api_get(client)
    assert stored(session).access_token_expires_at == exp


def test_missing_expires_in_with_an_opaque_token_means_unknown_expiry(client, session, endpoint):
    endpoint.answer(200, {"access_token": "opaque", "token_type": "Bearer"})
    api_get(client)
    assert stored(session).access_token_expires_at is None
    # Unknown expiry: no proactive renewal on the next requests.
    assert api_get(client).status_code == 200
    assert len(endpoint.requests) == 1


def test_new_id_token_updates_the_claims_shown(client, session, endpoint, key):
    new_id = key.sign(claims(name="Alice Liddell", nonce=None))
    endpoint.answer(
        200, {"access_token": "a2", "id_token": new_id, "token_type": "Bearer", "expires_in": 60}
    )
    body = api_get(client).json()
    assert body["user"]["name"] == "Alice Liddell"
    assert stored(session).id_token == new_id


@pytest.mark.parametrize(
    "changed", [{"sub": "mallory"}, {"iss": "https://other.test"}, {"aud": "other-client"}]
)
def test_new_id_token_for_someone_else_ends_the_session(
    client, session, endpoint, key, changed, redis_client
):
    endpoint.answer(
        200,
        {
            "access_token": "a2",
            "id_token": key.sign(claims(nonce=None, **changed)),
            "token_type": "Bearer",
            "expires_in": 60,
        },
    )
    response = api_get(client)
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert leftover_keys(redis_client) == []


@pytest.mark.parametrize("token_type", ["mac", "DPoP", "N_A"])
def test_a_token_type_this_site_cannot_use_is_refused_and_the_session_kept(
    client, session, endpoint, token_type
):
    before = stored(session)
    endpoint.answer(200, {"access_token": "a2", "token_type": token_type, "expires_in": 60})
    response = api_get(client)
    assert response.status_code == 503
    assert response.json()["error"] == "token_unavailable"
    assert stored(session).access_token == before.access_token  # "a2" was never kept


def test_id_token_with_audience_as_array_is_the_same_audience(client, session, endpoint, key):
    new_id = key.sign(claims(aud=[CLIENT_ID], nonce=None))
    endpoint.answer(
        200, {"access_token": "a2", "id_token": new_id, "token_type": "Bearer", "expires_in": 60}
    )
    assert api_get(client).status_code == 200


def test_invalid_grant_ends_the_session_without_retrying(client, session, endpoint, redis_client):
    endpoint.answer(400, {"error": "invalid_grant", "error_description": "grant revoked"})
    response = api_get(client)
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert len(endpoint.requests) == 1
    assert leftover_keys(redis_client) == []


@pytest.mark.parametrize("error", ["invalid_client", "unauthorized_client"])
def test_client_misconfiguration_keeps_sessions_and_is_logged_loudly(
    client, session, endpoint, caplog, error, redis_client
):
    endpoint.answer(401, {"error": error})
    with caplog.at_level(logging.ERROR, logger="accounts.tokens.refresh_grant"):
        response = api_get(client)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert any("CONFIGURATION" in r.getMessage() for r in caplog.records)
    assert stored(session).refresh_token == "old-refresh"  # kept for when it is fixed


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"error": "server_error"}), (502, b"<html>Bad gateway</html>"), (200, b"not json")],
)
def test_provider_failure_keeps_the_session(client, session, endpoint, status, body):
    endpoint.answer(status, body)
    response = api_get(client)
    assert response.status_code == 503
    assert response.json()["error"] == "token_unavailable"
    assert stored(session).refresh_token == "old-refresh"


def test_provider_failure_on_a_page_renders_it_with_a_notice(client, session, endpoint):
    endpoint.answer(503, {"error": "temporarily_unavailable"})
    page = client.get("/account/")
    assert page.status_code == 200
    assert 'data-testid="token-notice"' in page.content.decode()
    assert "cannot be reached to renew your login" in page.content.decode()


@pytest.mark.parametrize(("skew", "renewed"), [(60, False), (300, True)])
def test_the_refresh_skew_is_the_session_policys(client, session, endpoint, skew, renewed):
    SessionPolicy.objects.update_or_create(pk=1, defaults={"refresh_skew": timedelta(seconds=skew)})
    store_tokens(
        SessionStore(session.session_key),
        dataclasses.replace(stored(session), access_token_expires_at=time.time() + 120),
    )
    endpoint.answer(200, {"access_token": "new-access", "token_type": "Bearer", "expires_in": 600})
    assert api_get(client).status_code == 200
    assert len(endpoint.requests) == int(renewed)
