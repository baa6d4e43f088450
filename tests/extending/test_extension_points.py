"""Each extension point of docs/extending.md, exercised the way a developer would use it."""

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.test import Client

from accounts.oidc.backend import OIDCBackend
from accounts.signals import session_ended, tokens_refreshed
from tests.stack import API_AUDIENCE, sign_in_at_provider

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.extending.example_app")]

CALLBACK = "http://testserver/auth/callback/"


def log_in(client, username="alice"):
    start = client.get("/auth/login/")
    callback = sign_in_at_provider(
        requests.Session(), start["Location"], username, stop_at=CALLBACK
    )
    assert client.get(callback).status_code == 302
    return client


@pytest.mark.integration
def test_a_backend_subclass_maps_claims_to_the_user(oidc_settings):
    oidc_settings.AUTHENTICATION_BACKENDS = ["tests.extending.example_app.StaffFromEmailBackend"]
    log_in(Client())
    assert User.objects.get(oidc_identities__subject="alice").is_staff is True


def test_groups_follow_a_claim_but_only_groups_that_exist(settings):
    settings.OIDC_GROUPS_CLAIM = "groups"
    editors = Group.objects.create(name="editors")
    Group.objects.create(name="auditors")
    user = User.objects.create_user("alice")
    OIDCBackend().update_user(user, {"groups": ["editors", "admins-made-up"]})
    assert list(user.groups.all()) == [editors]
    assert not Group.objects.filter(name="admins-made-up").exists()
    OIDCBackend().update_user(user, {"groups": []})
    assert list(user.groups.all()) == []


@pytest.mark.integration
def test_choosing_the_claims_pages_show(oidc_settings, client):
    oidc_settings.OIDC_PUBLIC_CLAIMS = ["sub", "email"]
    log_in(client)
    assert client.get("/auth/session/").json()["user"] == {
        "sub": "alice",
        "email": "alice@example.test",
    }


@pytest.mark.integration
def test_signals_tell_of_logins_refreshes_and_ended_sessions(oidc_settings, client, provider):
    from django.contrib.auth.signals import user_logged_in

    from tests.accounts.tokens.test_refresh import expire_access_token

    seen = []
    receivers = {
        user_logged_in: lambda sender, user, **kw: seen.append(("login", user.get_username())),
        tokens_refreshed: lambda sender, record, **kw: seen.append(
            ("refreshed", record.claims["sub"])
        ),
        session_ended: lambda sender, reason, **kw: seen.append(("ended", reason)),
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver, weak=False)
    try:
        log_in(client)
        expire_access_token(client)
        client.get("/account/")
        provider.revoke_grants("alice")
        expire_access_token(client)
        client.get("/account/")
    finally:
        for signal, receiver in receivers.items():
            signal.disconnect(receiver)
    username = User.objects.get(oidc_identities__subject="alice").get_username()
    assert seen == [
        ("login", username),
        ("refreshed", "alice"),
        ("ended", "refresh_token_rejected"),
    ]


@pytest.mark.integration
def test_your_own_view_gets_the_users_access_token(oidc_settings, client):
    assert client.get("/token-audience/").status_code == 401
    log_in(client)
    assert client.get("/token-audience/").json() == {"audience": API_AUDIENCE}


def test_login_required_redirects_pages_and_answers_api_callers_in_json(client):
    page = client.get("/reports/?week=3")
    assert page.status_code == 302
    assert page["Location"] == "/auth/login/?next=%2Freports%2F%3Fweek%3D3"
    api = client.get(
        "/reports/", HTTP_ACCEPT="application/json", HTTP_REFERER="http://testserver/r"
    )
    assert api.status_code == 401
    assert api.json()["error"] == "login_required"
    assert api.json()["login_url"] == "/auth/login/?next=%2Fr"


@pytest.mark.integration
def test_login_required_lets_a_logged_in_user_through(oidc_settings, client):
    log_in(client)
    username = User.objects.get(oidc_identities__subject="alice").get_username()
    assert client.get("/reports/").json() == {"hello": username}


@pytest.mark.integration
def test_a_rest_framework_endpoint_uses_the_session(oidc_settings, client):
    assert client.get("/api/profile/").status_code == 403
    log_in(client)
    username = User.objects.get(oidc_identities__subject="alice").get_username()
    assert client.get("/api/profile/").json() == {"user": username}


@pytest.mark.integration
def test_the_project_overrides_the_apps_templates(oidc_settings, client):
    log_in(client)
    page = client.get("/account/").content.decode()
    # templates/accounts/layout.html extends this project's base.html: its header is there.
    assert "<strong>OIDC BFF</strong>" in page


def test_with_access_token_answers_for_the_view_without_a_login(client):
    page = client.get("/token-subject/")
    assert page.status_code == 302
    assert page["Location"] == "/auth/login/?next=%2Ftoken-subject%2F"
    # A script's call comes back to the page it was made from, not to the API's address.
    api = client.get(
        "/token-subject/", HTTP_ACCEPT="application/json", HTTP_REFERER="http://testserver/r"
    )
    assert api.status_code == 401
    assert api.json()["error"] == "login_required"
    assert api.json()["login_url"] == "/auth/login/?next=%2Fr"


def test_with_access_token_answers_503_when_the_token_cannot_be_renewed(client, monkeypatch):
    from accounts.exceptions import TokenUnavailable

    def unavailable(request, **kwargs):
        raise TokenUnavailable("The provider is down.")

    monkeypatch.setattr("accounts.tokens.access.access_token_for", unavailable)
    answer = client.get("/token-subject/", HTTP_ACCEPT="application/json")
    assert (answer.status_code, answer.json()["error"]) == (503, "token_unavailable")


@pytest.mark.integration
def test_with_access_token_hands_the_view_its_token(oidc_settings, client):
    log_in(client)
    assert client.get("/token-subject/").json() == {"hello": "alice"}
    assert client.get("/token-subject/hi/").json() == {"hi": "alice"}


@pytest.mark.integration
def test_the_logged_in_user_has_a_name_and_public_claims(oidc_settings, client):
    assert client.get("/").content.decode().count("Hello,") == 0
    log_in(client)
    who = client.get("/whoami/").json()
    assert who["name"] == "Alice"
    assert who["claims"]["sub"] == "alice"
    assert "nonce" not in who["claims"]
    # The home page greets through the context processor, never with the hashed username.
    assert '<h1 data-testid="greeting">Hello, Alice</h1>' in client.get("/").content.decode()


def test_a_password_user_is_named_by_django(client):
    from django.test import RequestFactory

    from accounts.api import get_logged_in_user, logged_in_user_context

    user = User.objects.create_user("root", first_name="Ro", last_name="Ot")
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    logged_in = get_logged_in_user(request)
    assert logged_in is not None
    assert (logged_in.name, dict(logged_in.claims)) == ("Ro Ot", {})
    assert str(logged_in_user_context(request)["logged_in_user"]) == "Ro Ot"
