"""DPoP at the token endpoint (RFC 9449): the code exchange and every refresh carry a proof from
the site's key and come back bound to it; a nonce challenge is answered once, and a provider
that keeps challenging gets a clear failure, not a loop."""

import logging
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from tests.client_keys import ec_pem, thumbprint
from tests.hostile.flows import (
    assert_logged_in,
    assert_login_refused,
    expire_access_token,
    log_in,
    renewed_tokens,
    session_info,
    stored_tokens,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpop(hostile, settings):
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = ec_pem()
    return hostile


def jkt():
    return thumbprint(ec_pem(), "ES256")


def confirmation_of(access_token):
    return jwt.decode(access_token, options={"verify_signature": False}).get("cnf")


def test_login_and_refresh_get_tokens_bound_to_the_sites_key(client, dpop):
    start = client.get("/auth/login/")
    # The code itself is bound to the key (section 10): only our proof can redeem it.
    assert parse_qs(urlsplit(start["Location"]).query)["dpop_jkt"] == [jkt()]
    assert log_in(client).status_code == 302
    assert_logged_in(client)
    record = stored_tokens(client)
    assert record.token_type == "DPoP"
    assert confirmation_of(record.access_token) == {"jkt": jkt()}

    renewed = renewed_tokens(client)
    assert renewed.access_token != record.access_token
    assert renewed.token_type == "DPoP"
    assert confirmation_of(renewed.access_token) == {"jkt": jkt()}

    proofs = dpop.dpop_proofs
    assert len(proofs) == 2  # one per token request
    for proof in proofs:
        assert proof["typ"] == "dpop+jwt"
        assert (proof["htm"], proof["htu"]) == ("POST", f"{dpop.issuer}/token")
        assert proof["jkt"] == jkt()
        assert "ath" not in proof  # no access token goes with a token request
    assert proofs[0]["jti"] != proofs[1]["jti"]


def test_a_pushed_login_binds_the_code_in_the_pushed_request(client, dpop):
    dpop.offer_par = True
    assert log_in(client).status_code == 302
    (pushed,) = dpop.pushed
    assert dict(pushed)["dpop_jkt"] == jkt()
    assert stored_tokens(client).token_type == "DPoP"


def test_a_nonce_challenge_is_answered_once_and_the_nonce_is_kept_for_the_next_request(
    client, dpop
):
    dpop.dpop_nonce = "nonce-from-the-provider"
    assert log_in(client).status_code == 302
    assert_logged_in(client)
    assert dpop.grants["authorization_code"] == 2  # challenged, then signed again with it
    assert [p.get("nonce") for p in dpop.dpop_proofs] == [None, "nonce-from-the-provider"]

    renewed_tokens(client)
    assert dpop.grants["refresh_token"] == 1  # the kept nonce went with it at once
    assert dpop.dpop_proofs[-1]["nonce"] == "nonce-from-the-provider"


def test_a_nonce_loop_at_login_ends_after_one_retry_on_a_login_failed_page(
    client, dpop, redis_client
):
    dpop.dpop_nonce_loop = True
    response = log_in(client)
    assert_login_refused(response, "(use_dpop_nonce)", client, redis_client, status=400)
    assert dpop.grants["authorization_code"] == 2


def test_a_nonce_loop_at_refresh_is_a_503_and_the_session_stays(client, dpop):
    assert log_in(client).status_code == 302
    expire_access_token(client)
    dpop.dpop_nonce_loop = True
    response = client.get("/auth/session/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["error"] == "token_unavailable"
    assert dpop.grants["refresh_token"] == 2

    # The challenged requests never reached the refresh token: it still works once the
    # provider behaves, and the user never had to log in again.
    dpop.dpop_nonce_loop = False
    assert session_info(client)["authenticated"] is True
    assert dpop.grants["refresh_token"] == 3
    assert stored_tokens(client).token_type == "DPoP"


def test_a_provider_that_ignores_dpop_issues_bearer_tokens_which_are_taken(
    client, dpop, caplog, monkeypatch
):
    monkeypatch.setattr("accounts.oidc.token_endpoint._unbound_noted", False)
    dpop.bind_dpop = False
    with caplog.at_level(logging.WARNING, logger="accounts.oidc.token_endpoint"):
        assert log_in(client).status_code == 302
        record = renewed_tokens(client)
    assert record.token_type == "Bearer"
    assert confirmation_of(record.access_token) is None
    said = [r.getMessage() for r in caplog.records if "Bearer tokens" in r.getMessage()]
    assert len(said) == 1  # once per process, not on every refresh


def test_without_dpop_no_proof_is_sent_and_tokens_stay_bearer(client, hostile):
    start = client.get("/auth/login/")
    assert "dpop_jkt" not in parse_qs(urlsplit(start["Location"]).query)
    assert log_in(client).status_code == 302
    assert hostile.dpop_proofs == []
    assert stored_tokens(client).token_type == "Bearer"


def test_a_key_rotation_keeps_live_sessions_on_their_key_until_it_is_removed(
    client, dpop, settings
):
    old, new = ec_pem(), ec_pem("dpop-2")
    assert log_in(client).status_code == 302
    settings.OIDC_DPOP_KEYS = new + old  # the new key first: it binds new logins

    # A provider may bind the refresh token to the key too: the refresh keeps the old one.
    renewed = renewed_tokens(client)
    assert dpop.dpop_proofs[-1]["jkt"] == thumbprint(old, "ES256")
    assert confirmation_of(renewed.access_token) == {"jkt": thumbprint(old, "ES256")}

    # Once the old key is gone, the next refresh moves the session to the new one.
    settings.OIDC_DPOP_KEYS = new
    renewed = renewed_tokens(client)
    assert dpop.dpop_proofs[-1]["jkt"] == thumbprint(new, "ES256")
    assert confirmation_of(renewed.access_token) == {"jkt": thumbprint(new, "ES256")}
