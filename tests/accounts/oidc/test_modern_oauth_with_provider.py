"""PAR, private_key_jwt and DPoP against the real local provider, each configured as a strict
provider would be: PAR required, private_key_jwt the only client authentication, access tokens
that must be DPoP-bound with nonces. A real login, a real refresh and a real logout each time;
and what a person sees when the site is not configured the way such a provider insists on."""

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from accounts.oidc import revocation
from tests.client_keys import ec_pem, public_jwks_json, rsa_pem, thumbprint
from tests.hostile.flows import message, renewed_tokens, stored_tokens
from tests.stack import (
    Provider,
    Site,
    free_port,
    log_in_with_requests,
    sign_in_at_provider,
    stored_token_records,
)

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"


def started(**knobs: str) -> Provider:
    return Provider(
        redirect_uris=[CALLBACK], post_logout_uris=["http://testserver/"], **knobs
    ).start()


@pytest.fixture(scope="module")
def par_required():
    provider = started(REQUIRE_PAR="1")
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def keys_only():
    provider = started(
        CLIENT_AUTH_METHOD="private_key_jwt", CLIENT_JWKS=public_jwks_json(rsa_pem())
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def dpop_bound():
    provider = started(DPOP_BOUND_ACCESS_TOKENS="1", DPOP_REQUIRE_NONCE="1")
    yield provider
    provider.stop()


def point_at(settings, provider, **values):
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_CLIENT_SECRET = provider.client_secret
    for name, value in values.items():
        setattr(settings, name, value)
    provider.reset_stats()


def log_in(client):
    """The whole login; returns the address the browser was first sent to."""
    start = client.get("/auth/login/")
    assert start.status_code == 302, start.content[:500]
    callback = sign_in_at_provider(requests.Session(), start["Location"], "alice", stop_at=CALLBACK)
    done = client.get(callback)
    assert done.status_code == 302, done.content[:500]
    return start["Location"]


def refresh(client):
    """Let the access token expire and make a request: the middleware renews it."""
    before = stored_tokens(client)
    after = renewed_tokens(client)
    assert after.access_token != before.access_token
    return after


@pytest.fixture
def revocations(monkeypatch):
    """What the provider answered to each revocation at logout: True is a confirmed one."""
    answers = []
    real = revocation.revoke_refresh_token

    def recording(token):
        answers.append(real(token))
        return answers[-1]

    monkeypatch.setattr("accounts.tokens.revoke_on_end.revoke_refresh_token", recording)
    return answers


def log_in_refresh_and_log_out(client, provider, revocations):
    log_in(client)
    refresh(client)
    assert provider.stats()["refresh_grants"] == 1
    assert client.post("/auth/logout/").status_code == 302
    assert revocations == [True]


# --- PAR required ------------------------------------------------------------------------------


def test_a_provider_that_requires_par_gets_every_login_pushed(
    client, settings, par_required, revocations
):
    assert par_required.discovery()["require_pushed_authorization_requests"] is True
    # Not even this keeps the parameters in the browser: the provider would refuse them.
    point_at(settings, par_required, OIDC_USE_PAR="never")
    first_hop = log_in(client)
    assert set(parse_qs(urlsplit(first_hop).query)) == {"client_id", "request_uri"}
    assert client.get("/auth/session/").json()["user"]["sub"] == "alice"
    refresh(client)
    assert client.post("/auth/logout/").status_code == 302
    assert revocations == [True]


def test_the_requirement_is_real_an_unpushed_request_is_refused(par_required):
    front_channel = requests.get(
        par_required.discovery()["authorization_endpoint"],
        params={
            "client_id": par_required.client_id,
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert "code=" not in front_channel.headers.get("Location", "")
    assert "error=invalid_request" in front_channel.headers.get("Location", "")


# --- private_key_jwt only ----------------------------------------------------------------------


@pytest.mark.parametrize("audience", ["issuer", "endpoint"])
def test_private_key_jwt_logs_in_refreshes_and_revokes_without_a_secret(
    client, settings, keys_only, revocations, audience
):
    point_at(
        settings,
        keys_only,
        OIDC_CLIENT_AUTH_METHOD="private_key_jwt",
        OIDC_CLIENT_SIGNING_KEYS=rsa_pem(),
        OIDC_CLIENT_SECRET="",
        OIDC_CLIENT_ASSERTION_AUDIENCE=audience,
    )
    log_in_refresh_and_log_out(client, keys_only, revocations)


def test_a_provider_that_takes_only_private_key_jwt_refuses_the_secret_clearly(
    client, settings, keys_only
):
    point_at(settings, keys_only)  # client_secret_basic, as by default
    response = client.get("/auth/login/")  # the provider offers PAR: the push is refused
    assert response.status_code == 400
    assert "refused the login request (invalid_client)" in message(response)
    assert client.get("/auth/session/").json() == {"authenticated": False}


def test_an_assertion_signed_with_an_unregistered_key_is_refused_clearly(
    client, settings, keys_only
):
    point_at(
        settings,
        keys_only,
        OIDC_CLIENT_AUTH_METHOD="private_key_jwt",
        OIDC_CLIENT_SIGNING_KEYS=rsa_pem("not registered"),
    )
    response = client.get("/auth/login/")
    assert response.status_code == 400
    assert "(invalid_client)" in message(response)


# --- DPoP-bound tokens, nonces required --------------------------------------------------------


def test_dpop_bound_tokens_with_nonces_at_login_and_refresh(
    client, settings, dpop_bound, revocations
):
    point_at(settings, dpop_bound, OIDC_USE_DPOP=True, OIDC_DPOP_KEYS=ec_pem())
    log_in(client)
    # The first proof had no nonce: challenged once, answered once.
    assert dpop_bound.stats()["authorization_code_grants"] == 2
    record = stored_tokens(client)
    assert record.token_type == "DPoP"
    claims = jwt.decode(record.access_token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": thumbprint(ec_pem(), "ES256")}

    renewed = refresh(client)
    assert dpop_bound.stats()["refresh_grants"] == 1  # the nonce kept from the login sufficed
    assert renewed.token_type == "DPoP"
    claims = jwt.decode(renewed.access_token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": thumbprint(ec_pem(), "ES256")}
    assert client.post("/auth/logout/").status_code == 302
    assert revocations == [True]


def test_a_provider_that_demands_dpop_refuses_a_login_without_it_clearly(
    client, settings, dpop_bound
):
    point_at(settings, dpop_bound)
    authorize = client.get("/auth/login/")["Location"]
    callback = sign_in_at_provider(requests.Session(), authorize, "alice", stop_at=CALLBACK)
    response = client.get(callback)
    assert response.status_code == 400
    assert "refused the login (invalid_grant)" in message(response)
    assert client.get("/auth/session/").json() == {"authenticated": False}


# --- all of it at once, configured from the environment (FAPI 2.0's shape) ---------------------


@pytest.fixture(scope="module")
def strict_stack():
    """PAR required, private_key_jwt with the keys the provider fetches from the site's own
    /auth/jwks.json, DPoP-bound tokens with nonces; four-second access tokens."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = Provider.for_site(
        url,
        REQUIRE_PAR="1",
        CLIENT_AUTH_METHOD="private_key_jwt",
        CLIENT_JWKS_URI=f"{url}/auth/jwks.json",
        DPOP_BOUND_ACCESS_TOKENS="1",
        DPOP_REQUIRE_NONCE="1",
        ACCESS_TOKEN_TTL="4",
    ).start()
    site = Site(
        provider,
        port,
        OIDC_CLIENT_AUTH_METHOD="private_key_jwt",
        OIDC_CLIENT_SIGNING_KEYS=rsa_pem(),
        OIDC_CLIENT_SIGNING_ALGORITHM="PS256",
        OIDC_CLIENT_SECRET="",
        OIDC_USE_DPOP="1",
        # One line, as many deployment tools need it: "\n" escapes stand for line breaks.
        OIDC_DPOP_KEYS=ec_pem().replace("\n", "\\n"),
    ).start()
    yield provider, site
    site.stop()
    provider.stop()


def test_a_strict_provider_and_a_site_configured_from_the_environment(strict_stack, redis_client):
    import time

    provider, site = strict_stack
    published = requests.get(f"{site.url}/auth/jwks.json", timeout=5).json()
    assert [key["kid"] for key in published["keys"]] == [thumbprint(rsa_pem(), "PS256")]

    browser = log_in_with_requests(site.url)
    (record,) = stored_token_records(redis_client).values()
    assert record["token_type"] == "DPoP"
    cnf = jwt.decode(record["access_token"], options={"verify_signature": False})["cnf"]
    assert cnf == {"jkt": thumbprint(ec_pem(), "ES256")}

    time.sleep(2.5)  # past half the access token's life: the next request renews it
    session = browser.get(f"{site.url}/auth/session/", timeout=10).json()
    assert session["authenticated"] is True
    assert provider.stats()["refresh_grants"] == 1
    (renewed,) = stored_token_records(redis_client).values()
    assert renewed["access_token"] != record["access_token"]
    assert renewed["token_type"] == "DPoP"
    # Nothing of the DPoP key or a proof reached the browser.
    assert "dpop" not in str(session).lower()
    assert not any("dpop" in cookie.name.lower() for cookie in browser.cookies)
