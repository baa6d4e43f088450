"""Provider presets: each one's login and logout URLs, and a full login/logout against the local
provider set up as each preset expects, where the local provider can play that part."""

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts.oidc.discovery import ProviderMetadata
from accounts.oidc.logout_urls import provider_logout_url
from accounts.protocol.presets import PRESETS
from accounts.tokens.record import TokenRecord
from tests.stack import confirm_logout_at_provider, sign_in_at_provider

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/auth/callback/"


def metadata(end_session=True, **overrides):
    values: dict[str, Any] = {
        "issuer": "https://tenant.example/",
        "authorization_endpoint": "https://login.example/oauth2/authorize",
        "token_endpoint": "https://login.example/oauth2/token",
        "jwks_uri": "https://login.example/jwks",
        "end_session_endpoint": "https://login.example/logout" if end_session else None,
    }
    values.update(overrides)
    return ProviderMetadata(**values)


@pytest.fixture
def discovered(monkeypatch, settings):
    settings.OIDC_CLIENT_ID = "client-1"
    settings.SITE_URL = "https://app.example"
    current = {"metadata": metadata()}
    monkeypatch.setattr("accounts.views.provider_metadata", lambda **_: current["metadata"])
    monkeypatch.setattr("accounts.oidc.logout_urls.provider_metadata", lambda: current["metadata"])
    return current


def login_params(client):
    location = client.get("/auth/login/")["Location"]
    return parse_qs(urlsplit(location).query)


RECORD = TokenRecord(
    access_token="a",
    id_token="the-id-token",
    refresh_token="r",
    token_type="Bearer",
    scope="openid",
    access_token_expires_at=None,
    id_token_expires_at=None,
    refresh_token_expires_at=None,
    claims={"sub": "alice", "sid": "the-sid"},
)


@pytest.mark.parametrize(
    ("preset", "scope", "prompt"),
    [
        ("generic", "openid profile email offline_access", ["consent"]),
        ("auth0", "openid profile email offline_access", None),
        ("cognito", "openid profile email", None),
        ("clerk", "openid profile email offline_access", ["consent"]),
        ("keycloak", "openid profile email", None),
        ("okta", "openid profile email offline_access", None),
        ("entra", "openid profile email offline_access", None),
    ],
)
def test_login_url_per_preset(client, discovered, settings, preset, scope, prompt):
    settings.OIDC_PROVIDER = preset
    params = login_params(client)
    assert params["scope"] == [scope]
    assert params.get("prompt") == prompt
    assert params["redirect_uri"] == ["https://app.example/auth/callback/"]
    assert params["code_challenge_method"] == ["S256"]


def test_auth0_sends_the_api_as_audience(client, discovered, settings):
    settings.OIDC_PROVIDER = "auth0"
    settings.OIDC_AUDIENCE = "https://api.example"
    params = login_params(client)
    assert params["audience"] == ["https://api.example"]
    assert "resource" not in params


def test_resource_indicator_presets_name_every_api_at_login(client, discovered, settings):
    settings.OIDC_PROVIDER = "generic"
    settings.OIDC_AUDIENCE = "https://api.example"
    settings.OIDC_EXTRA_AUDIENCES = ["https://reports.example"]
    params = login_params(client)
    assert params["resource"] == ["https://api.example", "https://reports.example"]
    assert "audience" not in params


def test_explicit_scopes_win_over_the_presets(client, discovered, settings):
    settings.OIDC_PROVIDER = "cognito"
    settings.OIDC_SCOPES = "openid email aws.cognito.signin.user.admin"
    assert login_params(client)["scope"] == ["openid email aws.cognito.signin.user.admin"]


@pytest.mark.parametrize("preset", ["generic", "auth0", "clerk", "keycloak", "okta"])
def test_rp_initiated_logout_url(discovered, settings, preset):
    settings.OIDC_PROVIDER = preset
    url = provider_logout_url(RECORD)
    assert url is not None
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith("https://login.example/logout?")
    assert params["id_token_hint"] == "the-id-token"
    assert params["post_logout_redirect_uri"] == "https://app.example/"
    assert params["client_id"] == "client-1"
    assert params["logout_hint"] == "the-sid"
    assert len(params["state"]) >= 16


def test_entra_hints_logout_with_the_login_hint_claim_not_sid(discovered, settings):
    import dataclasses

    settings.OIDC_PROVIDER = "entra"
    params = parse_qs(urlsplit(provider_logout_url(RECORD)).query)  # type: ignore[type-var]
    assert "logout_hint" not in params  # no login_hint claim in this ID token
    with_hint = dataclasses.replace(RECORD, claims={**RECORD.claims, "login_hint": "O.aX-hint"})
    params = parse_qs(urlsplit(provider_logout_url(with_hint)).query)  # type: ignore[type-var]
    assert params["logout_hint"] == ["O.aX-hint"]


def test_cognito_revokes_at_its_documented_endpoint_when_discovery_lists_none(
    discovered, settings, monkeypatch
):
    from accounts.oidc import revocation

    settings.OIDC_PROVIDER = "cognito"
    discovered["metadata"] = metadata(
        authorization_endpoint="https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/authorize"
    )
    monkeypatch.setattr(revocation, "provider_metadata", lambda: discovered["metadata"])
    calls = []

    class Answer:
        status_code = 200

    def fake_post(url, data, *, auth=None, headers=None, timeout=None):
        calls.append((url, dict(data)))
        return Answer()

    monkeypatch.setattr("accounts.oidc.client_auth.provider_post_form", fake_post)
    assert revocation.revoke_refresh_token("r") is True
    assert calls == [
        (
            "https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/revoke",
            {"token": "r", "token_type_hint": "refresh_token"},
        )
    ]


def test_keycloaks_refresh_expires_in_is_not_taken_for_the_lifetime(settings):
    from django.core.cache import caches

    from accounts.sessions.advice import OBSERVED_REFRESH_LIFETIME_KEY, note_token_lifetimes

    record = TokenRecord(
        **{**RECORD.to_json(), "refresh_token_expires_at": 1800.0, "obtained_at": 0.0}
    )
    settings.OIDC_PROVIDER = "keycloak"
    note_token_lifetimes(record)
    assert caches["sessions"].get(OBSERVED_REFRESH_LIFETIME_KEY) is None
    settings.OIDC_PROVIDER = "generic"
    note_token_lifetimes(record)
    assert caches["sessions"].get(OBSERVED_REFRESH_LIFETIME_KEY) == 1800


def test_auth0_without_rp_initiated_logout_uses_v2_logout(discovered, settings):
    settings.OIDC_PROVIDER = "auth0"
    discovered["metadata"] = metadata(end_session=False)
    assert provider_logout_url(RECORD) == (
        "https://tenant.example/v2/logout?client_id=client-1&returnTo=https%3A%2F%2Fapp.example%2F"
    )


def test_cognito_logs_out_on_the_hosted_ui_domain(discovered, settings):
    settings.OIDC_PROVIDER = "cognito"
    discovered["metadata"] = metadata(
        issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
        authorization_endpoint="https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
    )
    assert provider_logout_url(RECORD) == (
        "https://myapp.auth.eu-west-1.amazoncognito.com/logout?client_id=client-1"
        "&logout_uri=https%3A%2F%2Fapp.example%2F"
    )


def test_generic_without_end_session_stays_on_the_site(discovered, settings):
    discovered["metadata"] = metadata(end_session=False)
    assert provider_logout_url(RECORD) is None


def test_every_preset_has_a_test_here():
    assert set(PRESETS) == {"generic", "auth0", "cognito", "clerk", "keycloak", "okta", "entra"}


# --- against the local provider -------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_full_login_and_logout_against_the_local_provider(oidc_settings, provider, preset):
    """The local provider plays each preset's part as far as it can: code flow with PKCE,
    the preset's scopes and prompt, and (except Cognito, whose logout lives on its own hosted
    UI) RP-initiated logout back to the site."""
    oidc_settings.OIDC_PROVIDER = preset
    client = Client()
    start = client.get("/auth/login/")
    browser = requests.Session()
    callback = sign_in_at_provider(browser, start["Location"], f"user-{preset}", stop_at=CALLBACK)
    assert client.get(callback).status_code == 302
    assert client.get("/auth/session/").json()["user"]["sub"] == f"user-{preset}"

    logout = client.post("/auth/logout/")
    assert client.get("/auth/session/").json() == {"authenticated": False}
    location = logout["Location"]
    if preset == "cognito":
        assert location.startswith(f"{provider.issuer}/logout?client_id=")
        return
    assert location.startswith(provider.discovery()["end_session_endpoint"])
    back = confirm_logout_at_provider(browser, location)
    assert back.startswith("http://testserver/?state=")
    # Logged out at the provider as well: a new login asks for credentials again.
    time.sleep(0.1)
    again = browser.get(client.get("/auth/login/")["Location"], timeout=10)
    assert 'name="login"' in again.text
