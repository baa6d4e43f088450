"""The login path against a hostile provider: every ID token, callback, discovery and key case
of the catalogue, through the real ``/auth/login/`` and ``/auth/callback/`` views, discovery and
the key cache, over real HTTP."""

import dataclasses
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.sessions.store import SessionStore
from accounts.tokens.record import store_tokens
from tests.hostile.flows import (
    assert_logged_in,
    assert_login_refused,
    callback_from_provider,
    log_in,
    message,
    session_info,
    stored_tokens,
)

pytestmark = pytest.mark.django_db


def refused_login(client, redis_client, says):
    assert_login_refused(log_in(client), says, client, redis_client)


# --- the honest path, so every refusal below is the forgery's doing --------------------------


def test_an_honest_login_succeeds(client, hostile):
    response = log_in(client, next_path="/account/")
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert_logged_in(client, "alice")
    # The provider checked client authentication and the PKCE verifier before answering.
    assert hostile.grants == {"authorization_code": 1}


# --- ID token claims ---------------------------------------------------------------------------


def test_login_refuses_an_id_token_from_another_issuer(client, hostile, redis_client):
    hostile.next_id_token(iss="https://evil.test")
    refused_login(client, redis_client, "comes from another issuer")


def test_login_refuses_an_id_token_for_another_audience(client, hostile, redis_client):
    hostile.next_id_token(aud="someone-else")
    refused_login(client, redis_client, "issued to another client")


def test_login_refuses_an_id_token_without_aud(client, hostile, redis_client):
    hostile.next_id_token(without=["aud"])
    refused_login(client, redis_client, "lacks the 'aud' claim")


def test_login_refuses_an_untrusted_extra_audience(client, hostile, redis_client):
    hostile.next_id_token(aud=[hostile.client_id, "evil"], azp=hostile.client_id)
    refused_login(client, redis_client, "audience this site does not trust")


def test_login_refuses_azp_naming_another_client(client, hostile, redis_client):
    hostile.next_id_token(azp="another-client")
    refused_login(client, redis_client, "'azp' names another client")


def test_login_refuses_an_id_token_without_sub(client, hostile, redis_client):
    hostile.next_id_token(without=["sub"])
    refused_login(client, redis_client, "lacks the 'sub' claim")
    assert not User.objects.exists()


def test_login_refuses_an_id_token_without_iat(client, hostile, redis_client):
    hostile.next_id_token(without=["iat"])
    refused_login(client, redis_client, "lacks the 'iat' claim")


def test_login_refuses_an_expired_id_token(client, hostile, redis_client):
    now = int(time.time())
    hostile.next_id_token(iat=now - 200, exp=now - 100)  # beyond the 60 s leeway
    refused_login(client, redis_client, "has expired")


def test_login_refuses_an_id_token_without_exp(client, hostile, redis_client):
    hostile.next_id_token(without=["exp"])
    refused_login(client, redis_client, "lacks the 'exp' claim")


def test_login_refuses_an_id_token_issued_long_ago(client, hostile, redis_client):
    now = int(time.time())
    hostile.next_id_token(iat=now - 3600, exp=now + 300)
    refused_login(client, redis_client, "issued too long ago")


def test_login_refuses_a_wrong_nonce(client, hostile, redis_client):
    hostile.next_id_token(nonce="a-nonce-from-another-login")
    refused_login(client, redis_client, "nonce does not match")


def test_login_refuses_an_id_token_without_the_nonce_that_was_sent(client, hostile, redis_client):
    hostile.next_id_token(without=["nonce"])
    refused_login(client, redis_client, "nonce does not match")


# --- signatures and keys -----------------------------------------------------------------------


def test_login_refuses_a_bad_signature(client, hostile, redis_client):
    hostile.next_id_token(sign="tampered")  # a real signature; the payload changed afterwards
    refused_login(client, redis_client, "signature does not verify")
    assert not User.objects.filter(oidc_identities__subject="mallory").exists()


def test_login_refuses_a_key_with_the_providers_kid_that_it_does_not_publish(
    client, hostile, redis_client
):
    hostile.next_id_token(sign="attacker", header={"kid": hostile.signing_key.kid})
    refused_login(client, redis_client, "signature does not verify")


def test_login_refuses_alg_none(client, hostile, redis_client):
    hostile.next_id_token(sign="none")
    refused_login(client, redis_client, "signed with 'none', not RS256")


def test_login_refuses_hs256_keyed_with_the_providers_public_key(client, hostile, redis_client):
    hostile.next_id_token(sign="HS256-public-key")
    refused_login(client, redis_client, "signed with 'HS256', not RS256")


def test_login_refuses_hs256_keyed_with_the_client_secret(client, hostile, redis_client):
    hostile.next_id_token(sign="HS256-client-secret")
    refused_login(client, redis_client, "signed with 'HS256', not RS256")


@pytest.mark.parametrize("alg", ["RS512", "PS256"])
def test_login_refuses_a_valid_signature_with_another_algorithm(client, hostile, redis_client, alg):
    hostile.next_id_token(sign=alg)  # the provider's own key, a real signature
    refused_login(client, redis_client, f"signed with '{alg}', not RS256")


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c"])
def test_login_refuses_a_signing_key_named_in_the_header(client, hostile, redis_client, header):
    where = {
        "jku": f"{hostile.issuer}/attacker/jwks",
        "x5u": f"{hostile.issuer}/attacker/cert.pem",
        "jwk": hostile.attacker.jwk(),
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],  # never parsed
    }[header]
    hostile.next_id_token(sign="attacker", header={header: where})
    refused_login(client, redis_client, "names its own signing key")
    assert hostile.hits["/attacker/jwks"] == 0
    assert hostile.hits["/attacker/cert.pem"] == 0


def test_login_accepts_an_id_token_without_kid_when_one_rsa_key_fits(client, hostile):
    hostile.next_id_token(header={"kid": None})
    assert log_in(client).status_code == 302
    assert_logged_in(client)


def test_login_refuses_an_id_token_without_kid_when_several_keys_fit(client, hostile, redis_client):
    hostile.rotate_keys(keep_old=True)
    hostile.next_id_token(header={"kid": None})
    refused_login(client, redis_client, "key the provider does not publish")


def test_login_accepts_keys_rotated_between_logins(client, hostile):
    assert log_in(client).status_code == 302
    hostile.rotate_keys(keep_old=True)  # publish the new key, then sign with it
    other_browser = Client()
    assert log_in(other_browser).status_code == 302
    assert_logged_in(other_browser)
    assert hostile.hits["/jwks"] == 2  # the unknown kid made the site fetch the keys again


def test_login_accepts_keys_rotated_just_before_a_login(client, hostile):
    assert log_in(client).status_code == 302
    other_browser = Client()
    callback = callback_from_provider(other_browser)
    hostile.rotate_keys(keep_old=False)  # between the redirect and the code exchange
    assert other_browser.get(callback).status_code == 302
    assert_logged_in(other_browser)
    assert hostile.hits["/jwks"] == 2


class Clock:
    """``time`` as the key-set cache (accounts.protocol.key_sets) sees it, able to jump ahead."""

    def __init__(self):
        self.ahead = 0.0

    def monotonic(self):
        return time.monotonic() + self.ahead

    def __getattr__(self, name):
        return getattr(time, name)


def test_a_flood_of_unknown_kids_fetches_the_keys_at_most_once_per_interval(
    client, hostile, redis_client, settings, monkeypatch
):
    settings.OIDC_JWKS_MIN_REFETCH_INTERVAL = 60
    clock = Clock()
    monkeypatch.setattr("accounts.protocol.key_sets.time", clock)
    assert log_in(client).status_code == 302
    assert hostile.hits["/jwks"] == 1

    def flood(count):
        for n in range(count):
            hostile.next_id_token(sign="attacker", header={"kid": f"forged-{n}"})
            response = log_in(Client())
            assert response.status_code == 400
            assert "key the provider does not publish" in message(response)

    flood(5)
    assert hostile.hits["/jwks"] == 1  # within the interval: no refetch at all
    clock.ahead = 61
    flood(5)
    assert hostile.hits["/jwks"] == 2  # one interval later: one refetch, then none
    assert_logged_in(client)
    assert len(redis_client.keys("*:tokens")) == 1


# --- a key set the site cannot use (beyond the catalogue: found with this provider) --------------


def without_n(jwk):
    return {k: v for k, v in jwk.items() if k != "n"}


def test_login_refuses_a_published_key_that_is_unusable(hostile):
    hostile.jwks_document = {"keys": [without_n(hostile.signing_key.jwk())]}
    browser = Client(raise_request_exception=False)
    response = log_in(browser)
    assert response.status_code == 400
    assert "signing key is unusable" in message(response)
    assert session_info(browser) == {"authenticated": False}


def test_login_shows_a_page_when_the_key_set_is_not_a_list(hostile):
    hostile.jwks_document = {"keys": None}
    browser = Client(raise_request_exception=False)
    response = log_in(browser)
    assert response.status_code == 502
    assert "key set has no list of keys" in response.content.decode()
    assert session_info(browser) == {"authenticated": False}


# --- the callback (state, replay, RFC 9207 iss) -------------------------------------------------


def test_login_refuses_a_wrong_state(client, hostile, redis_client):
    hostile.redirect_changes = {"state": "a-state-this-browser-never-sent"}
    refused_login(client, redis_client, "expired or was already used")
    assert hostile.grants["authorization_code"] == 0  # the code was never redeemed


def test_login_refuses_a_replayed_callback(client, hostile, redis_client):
    callback = callback_from_provider(client)
    assert client.get(callback).status_code == 302
    replay = client.get(callback)
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert hostile.grants["authorization_code"] == 1
    # ...and in another browser (a leaked callback URL) it logs nobody in.
    thief = Client()
    assert_login_refused(thief.get(callback), "expired or was already used", thief, redis_client)
    assert len(redis_client.keys("*:tokens")) == 1  # only the real user's session


def test_login_refuses_a_callback_with_another_iss(client, hostile, redis_client):
    hostile.redirect_changes = {"iss": "https://evil.test"}
    refused_login(client, redis_client, "comes from another identity provider")
    assert hostile.grants["authorization_code"] == 0


def test_login_refuses_a_callback_without_iss_when_advertised(client, hostile, redis_client):
    hostile.redirect_changes = {"iss": None}
    refused_login(client, redis_client, "lacks the 'iss' parameter it promised")
    assert hostile.grants["authorization_code"] == 0


def test_login_accepts_a_callback_without_iss_when_not_advertised(client, hostile):
    hostile.discovery_changes = {"authorization_response_iss_parameter_supported": None}
    hostile.redirect_changes = {"iss": None}
    assert log_in(client).status_code == 302
    assert_logged_in(client)


# --- discovery ---------------------------------------------------------------------------------


def test_login_refuses_a_discovery_issuer_with_a_trailing_slash(client, hostile, redis_client):
    hostile.discovery_changes = {"issuer": hostile.issuer + "/"}
    response = client.get("/auth/login/")
    # A misconfiguration, not a forged answer: the site says which, and sends nobody anywhere.
    assert_login_refused(response, "names issuer", client, redis_client, status=502)
    assert hostile.hits["/authorize"] == 0


def test_login_refuses_a_discovery_document_naming_another_issuer(client, hostile, redis_client):
    hostile.discovery_changes = {"issuer": "https://evil.test"}
    response = client.get("/auth/login/")
    assert_login_refused(response, "names issuer", client, redis_client, status=502)
    assert hostile.hits["/authorize"] == 0


# --- what the token response may look like -----------------------------------------------------


def test_login_accepts_aud_as_a_one_element_array(client, hostile):
    hostile.next_id_token(aud=[hostile.client_id])
    assert log_in(client).status_code == 302
    assert_logged_in(client)


@pytest.mark.parametrize("token_type", ["bearer", "BEARER", "bEaReR"])
def test_login_accepts_token_type_in_any_case(client, hostile, token_type):
    hostile.next_token_response(token_type=token_type)
    assert log_in(client).status_code == 302
    assert_logged_in(client)


def test_login_accepts_a_token_response_without_expires_in(client, hostile):
    hostile.next_token_response(without=["expires_in"])
    assert log_in(client).status_code == 302
    assert_logged_in(client)
    # The expiry is read from the JWT access token's exp instead.
    record = stored_tokens(client)
    assert record.access_token_expires_at == pytest.approx(time.time() + 300, abs=10)
    assert session_info(client)["expires"]["access_token"] is not None


def test_userinfo_is_never_called_so_its_sub_cannot_differ(client, hostile):
    hostile.userinfo_sub = "mallory"  # what userinfo would say, were it asked
    assert log_in(client).status_code == 302
    assert client.get("/account/").status_code == 200
    assert_logged_in(client, "alice")
    assert hostile.hits["/userinfo"] == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("access_token", "tök"), ("access_token", "two words"), ("refresh_token", "r\né")],
)
def test_login_refuses_a_token_that_cannot_be_sent(client, hostile, redis_client, name, value):
    # A non-ASCII access token was a 500 on every call to a DPoP upstream (its proof hashes it).
    hostile.next_token_response(**{name: value})
    refused_login(client, redis_client, f"unusable {name}")


ODD_LIFETIMES = [10**400, 1e300, "1e400", float("nan"), float("inf"), -300, True, [300]]


def assert_pages_show(client):
    """Every page that shows the session's times answers, whatever times it holds."""
    assert_logged_in(client)
    assert client.get("/account/").status_code == 200
    assert client.get("/account/session/").status_code == 200


@pytest.mark.parametrize("expires_in", ODD_LIFETIMES)
def test_login_reads_an_odd_expires_in_as_none(client, hostile, expires_in):
    # 10**400 was a 500 at the callback; 1e300 made /auth/session/ a 500 for the session's life.
    hostile.next_token_response(expires_in=expires_in, refresh_expires_in=expires_in)
    assert log_in(client).status_code == 302
    assert_pages_show(client)
    record = stored_tokens(client)
    # Unknown from the answer, so read from the JWT access token's own exp.
    assert record.access_token_expires_at == pytest.approx(time.time() + 300, abs=10)
    assert record.refresh_token_expires_at is None


@pytest.mark.parametrize("exp", [10**12, 10**400])
def test_login_reads_an_id_token_expiry_past_any_calendar_as_unknown(client, hostile, exp):
    hostile.next_id_token(exp=exp)
    assert log_in(client).status_code == 302
    assert_pages_show(client)
    assert session_info(client)["expires"]["id_token"] is None


@pytest.mark.parametrize("stored", [1e300, float("inf")])
def test_odd_expiries_kept_by_an_earlier_version_are_shown_as_unknown(client, hostile, stored):
    assert log_in(client).status_code == 302
    session = SessionStore(client.cookies["sessionid"].value)
    record = stored_tokens(client)
    odd = {"access_token_expires_at": stored, "refresh_token_expires_at": stored}
    store_tokens(session, dataclasses.replace(record, id_token_expires_at=stored, **odd))
    assert_pages_show(client)
    assert session_info(client)["expires"]["refresh_token"] is None
