"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0, section 2.6) against a hostile
provider: a user logs in through the real views, then the provider POSTs logout tokens it signs
to the real ``/auth/backchannel-logout/``. Any broken rule is a 400 and the session lives on."""

import time

import pytest
from django.test import Client

from tests.hostile.flows import assert_logged_in, log_in, session_info, stored_tokens
from tests.hostile.provider import LOGOUT_EVENT

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, hostile):
    """A browser logged in as alice; the provider knows its session as ``hostile.last_login``."""
    assert log_in(client).status_code == 302
    return client


def post(hostile, token):
    # Server to server: the provider's request carries no cookie of the browser's.
    return hostile.post_logout_token(token, via=Client())


def refused(hostile, browser, says, **forgery):
    response = post(hostile, hostile.logout_token(**forgery))
    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "invalid_request"
    assert says in response.json()["error_description"]
    assert_logged_in(browser)


# --- what must succeed -------------------------------------------------------------------------


def test_backchannel_logout_by_sid_ends_that_session_only(browser, hostile):
    sid = hostile.last_login["sid"]
    refresh_token = stored_tokens(browser).refresh_token
    other = Client()
    assert log_in(other).status_code == 302
    response = post(hostile, hostile.logout_token(sid=sid))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert session_info(browser) == {"authenticated": False}
    assert_logged_in(other)
    # The ended session's refresh token is revoked at the provider too (RFC 7009).
    assert hostile.revoked == [refresh_token]


def test_backchannel_logout_by_sub_alone_ends_every_session_of_the_user(browser, hostile):
    other = Client()
    assert log_in(other).status_code == 302
    hostile.person = {"sub": "bob", "name": "Bob"}
    bobs = Client()
    assert log_in(bobs).status_code == 302
    response = post(hostile, hostile.logout_token(sub="alice", without=["sid"]))
    assert response.status_code == 200
    assert session_info(browser) == {"authenticated": False}
    assert session_info(other) == {"authenticated": False}
    assert_logged_in(bobs, "bob")


def test_backchannel_logout_of_a_session_already_gone_is_200(browser, hostile):
    sid = hostile.last_login["sid"]
    assert browser.post("/auth/logout/").status_code == 302
    response = post(hostile, hostile.logout_token(sid=sid))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("typ", [None, "JWT", "logout+jwt"])
def test_backchannel_logout_does_not_require_typ_logout_jwt(browser, hostile, typ):
    response = post(hostile, hostile.logout_token(header={"typ": typ}))
    assert response.status_code == 200
    assert session_info(browser) == {"authenticated": False}


# --- signature and keys ------------------------------------------------------------------------


def test_backchannel_logout_with_an_exp_past_any_date_is_taken_once(browser, hostile):
    # PyJWT takes exp=10**400 as a time to come; remembering its jti was a 500.
    token = hostile.logout_token(exp=10**400)
    assert post(hostile, token).status_code == 200
    assert session_info(browser) == {"authenticated": False}
    assert post(hostile, token).status_code == 400


def test_backchannel_refuses_a_bad_signature(browser, hostile):
    refused(hostile, browser, "signature does not verify", sign="tampered")


def test_backchannel_refuses_alg_none(browser, hostile):
    refused(hostile, browser, "signed with 'none', not RS256", sign="none")


def test_backchannel_refuses_hs256_keyed_with_the_providers_public_key(browser, hostile):
    refused(hostile, browser, "signed with 'HS256', not RS256", sign="HS256-public-key")


def test_backchannel_refuses_hs256_keyed_with_the_client_secret(browser, hostile):
    refused(hostile, browser, "signed with 'HS256', not RS256", sign="HS256-client-secret")


@pytest.mark.parametrize("alg", ["RS512", "PS256"])
def test_backchannel_refuses_a_valid_signature_with_another_algorithm(browser, hostile, alg):
    refused(hostile, browser, f"signed with '{alg}', not RS256", sign=alg)


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c"])
def test_backchannel_refuses_a_signing_key_named_in_the_header(browser, hostile, header):
    where = {
        "jku": f"{hostile.issuer}/attacker/jwks",
        "x5u": f"{hostile.issuer}/attacker/cert.pem",
        "jwk": hostile.attacker.jwk(),
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],  # never parsed
    }[header]
    refused(hostile, browser, "names its own signing key", sign="attacker", header={header: where})
    assert hostile.hits["/attacker/jwks"] == 0
    assert hostile.hits["/attacker/cert.pem"] == 0


def test_backchannel_flood_of_unknown_kids_fetches_the_keys_at_most_once(
    browser, hostile, settings
):
    # The endpoint is public: anyone can POST. Forged kids must not turn into JWKS requests.
    settings.OIDC_JWKS_MIN_REFETCH_INTERVAL = 60
    assert hostile.hits["/jwks"] == 1  # from the login
    for n in range(20):
        token = hostile.logout_token(sign="attacker", header={"kid": f"forged-{n}"})
        assert post(hostile, token).status_code == 400
    assert hostile.hits["/jwks"] == 1
    assert_logged_in(browser)


def test_backchannel_refuses_a_token_whose_published_key_is_unusable(browser, hostile):
    rotated = hostile.rotate_keys(keep_old=True)
    hostile.jwks_document = {"keys": [{k: v for k, v in rotated.jwk().items() if k != "n"}]}
    token = hostile.logout_token()
    response = hostile.post_logout_token(token, via=Client(raise_request_exception=False))
    assert response.status_code == 400
    assert_logged_in(browser)


# --- claims ------------------------------------------------------------------------------------


def test_backchannel_refuses_another_issuer(browser, hostile):
    refused(hostile, browser, "comes from another issuer", iss="https://evil.test")


def test_backchannel_refuses_another_audience(browser, hostile):
    refused(hostile, browser, "issued to another client", aud="someone-else")


def test_backchannel_refuses_a_missing_audience(browser, hostile):
    refused(hostile, browser, "lacks the 'aud' claim", without=["aud"])


def test_backchannel_refuses_an_untrusted_extra_audience(browser, hostile):
    aud = [hostile.client_id, "evil"]
    refused(hostile, browser, "audience this site does not trust", aud=aud, azp=hostile.client_id)


def test_backchannel_refuses_a_missing_iat(browser, hostile):
    refused(hostile, browser, "lacks the 'iat' claim", without=["iat"])


def test_backchannel_refuses_an_iat_far_in_the_past(browser, hostile):
    now = int(time.time())
    refused(hostile, browser, "issued too long ago", iat=now - 3600, exp=now + 120)


def test_backchannel_refuses_a_missing_exp(browser, hostile):
    refused(hostile, browser, "lacks the 'exp' claim", without=["exp"])


def test_backchannel_refuses_an_expired_token(browser, hostile):
    now = int(time.time())
    refused(hostile, browser, "has expired", iat=now - 200, exp=now - 100)


def test_backchannel_refuses_a_missing_jti(browser, hostile):
    refused(hostile, browser, "lacks the 'jti' claim", without=["jti"])


def test_backchannel_refuses_neither_sub_nor_sid(browser, hostile):
    refused(hostile, browser, "neither 'sub' nor 'sid'", without=["sub", "sid"])


def test_backchannel_refuses_a_missing_events_claim(browser, hostile):
    refused(hostile, browser, "lacks the back-channel logout event", without=["events"])


def test_backchannel_refuses_events_without_the_logout_event(browser, hostile):
    events: dict[str, object] = {"http://schemas.openid.net/event/other": {}}
    refused(hostile, browser, "lacks the back-channel logout event", events=events)


def test_backchannel_refuses_a_logout_event_that_is_not_an_object(browser, hostile):
    events = {LOGOUT_EVENT: "logout"}
    refused(hostile, browser, "lacks the back-channel logout event", events=events)


def test_backchannel_refuses_a_nonce(browser, hostile):
    refused(hostile, browser, "carries a nonce", nonce="a-nonce")


def test_backchannel_refuses_a_replayed_jti(browser, hostile):
    token = hostile.logout_token(sub="nobody-here", without=["sid"])
    assert post(hostile, token).status_code == 200
    replay = post(hostile, token)
    assert replay.status_code == 400
    assert "already used" in replay.json()["error_description"]
    assert_logged_in(browser)
