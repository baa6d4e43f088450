"""Client authentication at every endpoint that asks for it (token, PAR, revocation): the
secret (HTTP Basic or in the form) or private_key_jwt (RFC 7523), and a provider that refuses
it, against a provider that checks what it gets."""

import pytest

from tests.client_keys import public_jwks, rsa_pem, thumbprint
from tests.hostile.flows import (
    assert_logged_in,
    assert_login_refused,
    log_in,
    renewed_tokens,
    stored_tokens,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_key_jwt(hostile, settings):
    """The site signs assertions with its key; the provider knows only the public half and
    takes nothing else (the secret is not even configured)."""
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    settings.OIDC_CLIENT_SIGNING_KEYS = rsa_pem()
    settings.OIDC_CLIENT_SECRET = ""
    hostile.client_jwks = public_jwks(rsa_pem())
    return hostile


def log_in_refresh_and_log_out(client):
    assert log_in(client).status_code == 302
    assert_logged_in(client)
    before = stored_tokens(client).access_token
    assert renewed_tokens(client).access_token != before
    logout = client.post("/auth/logout/")
    assert logout.status_code == 302


def test_private_key_jwt_at_the_token_par_and_revocation_endpoints(client, private_key_jwt):
    private_key_jwt.offer_par = True
    log_in_refresh_and_log_out(client)
    assert private_key_jwt.hits["/par"] == 1
    assert private_key_jwt.grants == {"authorization_code": 1, "refresh_token": 1}
    assert private_key_jwt.hits["/revoke"] == 1
    assert len(private_key_jwt.revoked) == 1
    seen = private_key_jwt.client_auth_seen
    assert len(seen) == 4  # push, code exchange, refresh, revocation: a fresh assertion each
    for each in seen:
        assert each == {
            "method": "private_key_jwt",
            "aud": private_key_jwt.issuer,
            "kid": thumbprint(rsa_pem(), "RS256"),
            "lifetime": 60,
        }


def test_the_assertion_can_name_the_endpoint_instead_of_the_issuer(
    client, private_key_jwt, settings
):
    settings.OIDC_CLIENT_ASSERTION_AUDIENCE = "endpoint"
    private_key_jwt.offer_par = True
    log_in_refresh_and_log_out(client)
    audiences = [each["aud"] for each in private_key_jwt.client_auth_seen]
    issuer = private_key_jwt.issuer
    assert audiences == [f"{issuer}/par", f"{issuer}/token", f"{issuer}/token", f"{issuer}/revoke"]


def test_the_first_of_several_keys_signs(client, private_key_jwt, settings):
    new, old = rsa_pem("next"), rsa_pem()
    settings.OIDC_CLIENT_SIGNING_KEYS = new + "\n" + old
    private_key_jwt.client_jwks = {"keys": public_jwks(old)["keys"] + public_jwks(new)["keys"]}
    assert log_in(client).status_code == 302
    assert private_key_jwt.client_auth_seen[0]["kid"] == thumbprint(new, "RS256")


def test_a_refused_client_assertion_is_a_login_failed_page(client, private_key_jwt, redis_client):
    private_key_jwt.client_jwks = public_jwks(rsa_pem("someone else"))
    response = log_in(client)
    assert_login_refused(
        response, "refused the login (invalid_client)", client, redis_client, status=400
    )


def test_a_refused_client_at_the_pushed_endpoint_is_a_login_failed_page(
    client, private_key_jwt, redis_client
):
    private_key_jwt.offer_par = True
    private_key_jwt.refuse_client = True
    response = client.get("/auth/login/")
    assert_login_refused(
        response, "refused the login request (invalid_client)", client, redis_client, status=400
    )


def test_a_provider_that_takes_only_private_key_jwt_refuses_the_secret(
    client, hostile, redis_client
):
    hostile.client_jwks = public_jwks(rsa_pem())
    response = log_in(client)
    assert_login_refused(response, "(invalid_client)", client, redis_client, status=400)
    assert hostile.client_auth_seen == [{"method": "client_secret_basic"}]


def test_client_secret_post_puts_the_secret_in_the_form(client, hostile, settings):
    settings.OIDC_CLIENT_AUTH_METHOD = "client_secret_post"
    hostile.offer_par = True
    log_in_refresh_and_log_out(client)
    assert [each["method"] for each in hostile.client_auth_seen] == ["client_secret_post"] * 4
