"""One refresh grant, without a session: what it sends, and what it makes of each answer."""

import logging
import time

import pytest

from accounts.exceptions import ProviderUnavailable, TokenUnavailable
from accounts.tokens.refresh_grant import RefreshRejected, refresh_grant
from accounts.tokens.targets import ApiTarget
from tests.accounts.tokens.conftest import expired_record
from tests.token_factory import CLIENT_ID, claims


@pytest.fixture
def record(key):
    return expired_record(key, access_token="a1", refresh_token="r1", nonce=None)


def test_the_main_token_is_renewed_with_the_refresh_token(endpoint, record):
    endpoint.answer(200, {"access_token": "a2", "refresh_token": "r2", "expires_in": 60})
    renewed = refresh_grant(record)
    assert endpoint.requests == [{"grant_type": "refresh_token", "refresh_token": "r1"}]
    assert (renewed.access_token, renewed.refresh_token) == ("a2", "r2")
    assert renewed.access_token_expires_at is not None
    assert renewed.access_token_expires_at > time.time() + 50


def test_a_token_for_another_api_asks_for_it_and_leaves_the_main_token(endpoint, record, settings):
    settings.OIDC_PROVIDER = "auth0"
    endpoint.answer(200, {"access_token": "api-token", "token_type": "Bearer"})
    renewed = refresh_grant(record, ApiTarget("https://api.test", "read"))
    assert endpoint.requests == [
        {
            "grant_type": "refresh_token",
            "refresh_token": "r1",
            "audience": "https://api.test",
            "scope": "read",
        }
    ]
    assert renewed.access_token == "a1"
    held = renewed.audience_token("https://api.test read", now=time.time())
    assert held is not None
    assert (held.token, held.token_type) == ("api-token", "Bearer")


def test_a_new_id_token_for_the_same_user_renews_the_claims(endpoint, record, key):
    new_id = key.sign(claims(nonce=None, name="Alice Liddell", aud=[CLIENT_ID]))
    endpoint.answer(200, {"access_token": "a2", "id_token": new_id})
    renewed = refresh_grant(record)
    assert renewed.id_token == new_id
    assert renewed.claims["name"] == "Alice Liddell"


@pytest.mark.parametrize(
    "changed", [{"sub": "mallory"}, {"iss": "https://other.test"}, {"aud": "other-client"}]
)
def test_a_new_id_token_for_someone_else_is_rejected(endpoint, record, key, changed):
    endpoint.answer(
        200, {"access_token": "a2", "id_token": key.sign(claims(nonce=None, **changed))}
    )
    with pytest.raises(RefreshRejected) as rejected:
        refresh_grant(record)
    assert rejected.value.reason == "id_token_mismatch"


def test_an_invalid_new_id_token_is_rejected(endpoint, record, key):
    expired = key.sign(claims(nonce=None, exp=int(time.time()) - 3600))
    endpoint.answer(200, {"access_token": "a2", "id_token": expired})
    with pytest.raises(RefreshRejected) as rejected:
        refresh_grant(record)
    assert rejected.value.reason == "id_token_mismatch"
    assert rejected.value.message.startswith("Your login could not be renewed: ")


def test_invalid_grant_is_rejected_for_good(endpoint, record):
    endpoint.answer(400, {"error": "invalid_grant"})
    with pytest.raises(RefreshRejected) as rejected:
        refresh_grant(record)
    assert rejected.value.reason == "refresh_token_rejected"


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        ("invalid_client", "CONFIGURATION: the provider refused this client's refresh"),
        ("unauthorized_client", "CONFIGURATION: the provider refused this client's refresh"),
        ("invalid_scope", "the provider refused a refresh with invalid_scope"),
    ],
)
def test_other_refusals_leave_the_session_and_are_logged(endpoint, record, caplog, error, logged):
    endpoint.answer(400, {"error": error})
    with (
        caplog.at_level(logging.ERROR, logger="accounts.tokens.refresh_grant"),
        pytest.raises(TokenUnavailable, match=f"refused to issue the token \\({error}\\)"),
    ):
        refresh_grant(record)
    assert logged in caplog.text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (502, b"<html>Bad gateway</html>"),
        (200, b"not json"),
        (200, {"token_type": "Bearer"}),
        (200, {"access_token": "a2", "token_type": "mac"}),
    ],
)
def test_a_failed_or_unusable_answer_is_the_providers_fault(endpoint, record, status, body):
    endpoint.answer(status, body)
    with pytest.raises(ProviderUnavailable):
        refresh_grant(record)
