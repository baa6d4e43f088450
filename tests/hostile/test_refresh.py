"""The refresh path against a hostile provider: log in honestly, move the stored access token's
expiry into the past, and let the real middleware renew it on the next request (RFC 6749
sections 5.2 and 6, OIDC Core 12.2, docs/tokens.md)."""

import pytest

from tests.hostile.flows import assert_logged_in, expire_access_token, log_in, stored_tokens
from tests.hostile.provider import API_AUDIENCE
from tests.stack import leftover_keys

pytestmark = pytest.mark.django_db

LOGIN_AGAIN = "/auth/login/?next=%2Faccount%2F"


@pytest.fixture
def logged_in(client, hostile):
    assert log_in(client).status_code == 302
    expire_access_token(client)
    return client


def assert_session_ended(response, redis_client, ended, reason):
    """A page goes to the login and comes back; nothing of the session is left in Redis."""
    assert response.status_code == 302
    assert response["Location"] == LOGIN_AGAIN
    assert leftover_keys(redis_client) == []
    assert ended == [reason]


# --- a refreshed ID token must keep iss, sub and aud --------------------------------------------


def test_refresh_ends_the_session_when_the_new_id_token_names_another_issuer(
    logged_in, hostile, redis_client, ended
):
    hostile.next_id_token(iss="https://evil.test")
    response = logged_in.get("/account/")
    assert_session_ended(response, redis_client, ended, "id_token_mismatch")
    assert hostile.grants["refresh_token"] == 1


def test_refresh_ends_the_session_when_the_new_id_token_names_another_subject(
    logged_in, hostile, redis_client, ended
):
    hostile.next_id_token(sub="mallory")
    response = logged_in.get("/account/")
    assert_session_ended(response, redis_client, ended, "id_token_mismatch")


def test_refresh_ends_the_session_when_the_new_id_token_names_another_audience(
    client, hostile, redis_client, ended, settings
):
    # The extra audience is trusted and azp names the client: the token would pass a login.
    # Only the rule that a refreshed ID token keeps the original aud refuses it.
    settings.OIDC_TRUSTED_AUDIENCES = {API_AUDIENCE}
    assert log_in(client).status_code == 302
    expire_access_token(client)
    hostile.next_id_token(aud=[hostile.client_id, API_AUDIENCE], azp=hostile.client_id)
    response = client.get("/account/")
    assert_session_ended(response, redis_client, ended, "id_token_mismatch")


def test_refresh_ends_the_session_when_the_new_id_token_is_forged(
    logged_in, hostile, redis_client, ended
):
    hostile.next_id_token(sign="tampered")
    response = logged_in.get("/account/")
    assert_session_ended(response, redis_client, ended, "id_token_mismatch")


def test_refresh_mismatch_gives_api_callers_401_with_the_login_url(logged_in, hostile, ended):
    hostile.next_id_token(sub="mallory")
    response = logged_in.get("/auth/session/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert response.json()["login_url"].startswith("/auth/login/")
    assert ended == ["id_token_mismatch"]


def test_refresh_accepts_a_new_id_token_with_aud_as_a_one_element_array(logged_in, hostile):
    hostile.next_id_token(aud=[hostile.client_id], name="Alice Renewed")
    page = logged_in.get("/account/")
    assert page.status_code == 200
    assert "Alice Renewed" in page.content.decode()
    assert hostile.grants["refresh_token"] == 1


# --- the refresh token itself ------------------------------------------------------------------


def test_refresh_invalid_grant_ends_the_session_without_retrying(
    logged_in, hostile, redis_client, ended
):
    hostile.revoke_grants()
    response = logged_in.get("/account/")
    assert_session_ended(response, redis_client, ended, "refresh_token_rejected")
    assert hostile.grants["refresh_token"] == 1


def test_refresh_rotated_refresh_token_replaces_the_old_one_which_is_never_sent_again(
    logged_in, hostile
):
    first = stored_tokens(logged_in).refresh_token
    assert logged_in.get("/account/").status_code == 200
    second = stored_tokens(logged_in).refresh_token
    assert second != first
    expire_access_token(logged_in)
    assert logged_in.get("/account/").status_code == 200
    # Sending the first again would have been taken for theft and killed the grant.
    assert hostile.refresh_tokens_presented == [first, second]
    assert_logged_in(logged_in)


def test_refresh_answer_without_refresh_token_keeps_the_old_one(logged_in, hostile):
    hostile.rotate_refresh_tokens = False
    first = stored_tokens(logged_in).refresh_token
    assert logged_in.get("/account/").status_code == 200
    assert stored_tokens(logged_in).refresh_token == first
    expire_access_token(logged_in)
    assert logged_in.get("/account/").status_code == 200
    assert hostile.refresh_tokens_presented == [first, first]


@pytest.mark.parametrize("token_type", ["bearer", "BEARER"])
def test_refresh_accepts_token_type_in_any_case(logged_in, hostile, token_type):
    old = stored_tokens(logged_in).access_token
    hostile.next_token_response(token_type=token_type)
    assert logged_in.get("/account/").status_code == 200
    assert stored_tokens(logged_in).access_token != old


def test_refresh_accepts_an_answer_without_expires_in(logged_in, hostile):
    hostile.next_token_response(without=["expires_in"])
    assert logged_in.get("/account/").status_code == 200
    record = stored_tokens(logged_in)
    assert record.access_token_expires_at is not None  # from the JWT access token's exp
    assert logged_in.get("/account/").status_code == 200
    assert hostile.grants["refresh_token"] == 1  # not renewed again at once


@pytest.mark.parametrize("expires_in", [10**400, 1e300, "1e400"])
def test_refresh_reads_an_odd_expires_in_as_none(logged_in, hostile, expires_in):
    # 10**400 was a 500 on whatever page the renewal ran for.
    hostile.next_token_response(expires_in=expires_in)
    assert logged_in.get("/account/").status_code == 200
    assert logged_in.get("/auth/session/").json()["expires"]["access_token"] is not None
    assert hostile.grants["refresh_token"] == 1


@pytest.mark.parametrize(("name", "value"), [("access_token", "tök"), ("refresh_token", "é")])
def test_refresh_refuses_a_token_that_cannot_be_sent_and_keeps_the_session(
    logged_in, hostile, name, value
):
    # Without rotation: a provider that rotates has spent the old refresh token on an answer
    # this site cannot use, and its reuse detection ends the session at the next refresh.
    hostile.rotate_refresh_tokens = False
    before = stored_tokens(logged_in)
    hostile.next_token_response(**{name: value})
    response = logged_in.get("/auth/session/", HTTP_ACCEPT="application/json")
    # The provider's fault: a 503 for now, and nothing of the session is lost.
    assert response.status_code == 503
    assert response.json()["error"] == "token_unavailable"
    assert stored_tokens(logged_in).refresh_token == before.refresh_token
    assert_logged_in(logged_in)  # the provider behaves again: renewed, still logged in
    assert stored_tokens(logged_in).access_token != before.access_token


# --- a provider that acts on a refresh but answers too late -------------------------------------


@pytest.fixture
def stalling(hostile, settings):
    """The provider spends the refresh token, then answers after the site gave up waiting."""
    settings.OIDC_REFRESH_TIMEOUT = (1.0, 0.5)
    hostile.stall_next_refresh = 1.5
    return hostile


def test_a_stalled_refresh_is_sent_again_within_the_providers_reuse_interval(
    logged_in, stalling, settings, ended
):
    stalling.reuse_interval = settings.OIDC_REFRESH_REUSE_INTERVAL = 5
    before = stored_tokens(logged_in)
    response = logged_in.get("/account/")
    assert response.status_code == 200  # nothing visible
    assert stalling.grants["refresh_token"] == 2  # the one that stalled, then the retry
    after = stored_tokens(logged_in)
    assert after.refresh_token != before.refresh_token
    # The grant is alive: the next expiry renews with the new refresh token.
    expire_access_token(logged_in)
    assert_logged_in(logged_in)
    assert stalling.grants["refresh_token"] == 3
    assert ended == []


def test_without_a_reuse_interval_a_stalled_refresh_ends_the_session_at_the_next_one(
    logged_in, stalling, redis_client, ended
):
    """What docs/tokens.md tells users: a 503 now, then a login, since retrying the spent
    refresh token would look like theft to a provider without a reuse interval."""
    api = logged_in.get("/auth/session/", HTTP_ACCEPT="application/json")
    assert api.status_code == 503
    assert api.json()["error"] == "token_unavailable"
    assert stalling.grants["refresh_token"] == 1  # no retry
    assert stored_tokens(logged_in)  # the session was kept
    response = logged_in.get("/account/")
    assert_session_ended(response, redis_client, ended, "refresh_token_rejected")
