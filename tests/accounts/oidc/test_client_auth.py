"""Client authentication as each endpoint receives it: what goes in the header, what in the
form, and what a private_key_jwt assertion names."""

from typing import Any

import jwt
import pytest

from accounts.oidc.client_auth import client_authentication, post_as_client
from accounts.protocol.signing_keys import KeyUnusable
from tests.client_keys import rsa_pem

TOKEN = "https://op.test/oauth2/token"


@pytest.fixture
def client_settings(settings):
    settings.OIDC_ISSUER = "https://op.test"
    settings.OIDC_CLIENT_ID = "bff client"
    settings.OIDC_CLIENT_SECRET = "s3cret:with/odd=chars"
    return settings


def test_client_secret_basic_form_encodes_before_base64(client_settings):
    auth = client_authentication(TOKEN)
    assert auth.basic == ("bff%20client", "s3cret%3Awith%2Fodd%3Dchars")
    assert dict(auth.form) == {}


def test_client_secret_post_puts_id_and_secret_in_the_form(client_settings):
    client_settings.OIDC_CLIENT_AUTH_METHOD = "client_secret_post"
    auth = client_authentication(TOKEN)
    assert auth.basic is None
    assert dict(auth.form) == {"client_id": "bff client", "client_secret": "s3cret:with/odd=chars"}


def assertion_claims(auth):
    form = dict(auth.form)
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert form["client_id"] == "bff client"
    assert "client_secret" not in form
    return jwt.decode(form["client_assertion"], options={"verify_signature": False})


@pytest.mark.parametrize(
    ("preset", "choice", "audience"),
    [
        ("generic", "", "https://op.test"),
        ("auth0", "", "https://op.test"),
        ("keycloak", "", "https://op.test"),
        ("okta", "", TOKEN),
        ("entra", "", TOKEN),
        ("okta", "issuer", "https://op.test"),
        ("generic", "endpoint", TOKEN),
    ],
)
def test_private_key_jwt_names_the_issuer_or_the_endpoint(
    client_settings, preset, choice, audience
):
    client_settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    client_settings.OIDC_CLIENT_SIGNING_KEYS = rsa_pem()
    client_settings.OIDC_PROVIDER = preset
    client_settings.OIDC_CLIENT_ASSERTION_AUDIENCE = choice
    auth = client_authentication(TOKEN)
    assert auth.basic is None
    claims = assertion_claims(auth)
    assert claims["aud"] == audience
    assert claims["iss"] == claims["sub"] == "bff client"


def test_private_key_jwt_without_a_key_is_a_configuration_error(client_settings):
    client_settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    with pytest.raises(KeyUnusable):
        client_authentication(TOKEN)


def test_the_credentials_replace_a_client_id_the_form_already_has(client_settings, monkeypatch):
    """A pushed authorization request carries client_id among its parameters; the provider
    refuses a parameter sent twice."""
    client_settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    client_settings.OIDC_CLIENT_SIGNING_KEYS = rsa_pem()
    sent: dict[str, Any] = {}

    def fake_post(url, data, *, auth=None, headers=None, timeout=None):
        sent.update(url=url, data=data, auth=auth, headers=headers)

    monkeypatch.setattr("accounts.oidc.client_auth.provider_post_form", fake_post)
    post_as_client(TOKEN, [("client_id", "bff client"), ("resource", "a"), ("resource", "b")])
    names = [name for name, _ in sent["data"]]
    assert names.count("client_id") == 1
    assert names.count("resource") == 2
    assert sent["auth"] is None


def test_basic_credentials_travel_in_the_header(client_settings, monkeypatch):
    sent: dict[str, Any] = {}

    def fake_post(url, data, *, auth=None, headers=None, timeout=None):
        sent.update(data=data, auth=auth)

    monkeypatch.setattr("accounts.oidc.client_auth.provider_post_form", fake_post)
    post_as_client(TOKEN, {"grant_type": "refresh_token", "refresh_token": "r"})
    assert sent["data"] == [("grant_type", "refresh_token"), ("refresh_token", "r")]
    assert sent["auth"] == ("bff%20client", "s3cret%3Awith%2Fodd%3Dchars")
