"""Login, callback and logout against the real local provider and real Redis.

The site runs in-process (Django's test client, host ``testserver``); a scripted person fills in
the provider's forms over real HTTP.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User

from accounts.models import OIDCIdentity
from tests.logins_in_progress import change_entry, entry, state_in
from tests.stack import redis_dump, sign_in_at_provider, stored_token_records

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"


def start_login(client, next_path="/account/"):
    response = client.get("/auth/login/", {"next": next_path})
    assert response.status_code == 302
    return response["Location"]


def login(client, username="alice", next_path="/account/"):
    """Log ``client`` in as ``username``; return the site's response to the callback."""
    authorize = start_login(client, next_path)
    callback = sign_in_at_provider(requests.Session(), authorize, username, stop_at=CALLBACK)
    return client.get(callback)


def session_record(redis_client, client):
    key = client.cookies["sessionid"].value
    found = {k.decode(): v for k in redis_client.keys(f"*{key}*") for v in [redis_client.get(k)]}
    return key, found


def test_login_request_carries_pkce_state_nonce_and_consent(oidc_settings, provider):
    from django.test import Client

    oidc_settings.OIDC_USE_PAR = "never"  # the parameters in the browser's URL, to read them
    location = start_login(Client())
    parts = urlsplit(location)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert location.startswith(provider.discovery()["authorization_endpoint"])
    assert params["response_type"] == "code"
    assert params["client_id"] == provider.client_id
    assert params["redirect_uri"] == CALLBACK
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32
    assert params["prompt"] == "consent"
    assert set(params["scope"].split()) == {"openid", "profile", "email", "offline_access"}


def test_login_lands_on_next_with_the_users_name(client, oidc_settings):
    response = login(client, "alice", next_path="/account/?tab=claims")
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=claims"
    page = client.get("/account/")
    assert page.status_code == 200
    assert "Alice" in page.content.decode()
    assert "alice@example.test" in page.content.decode()


def test_tokens_live_in_redis_beside_the_session_encrypted_not_in_the_cookie(
    client, oidc_settings, redis_client
):
    login(client)
    _, records = session_record(redis_client, client)
    token_keys = [k for k in records if k.endswith(":tokens")]
    assert len(token_keys) == 1
    tokens = stored_token_records(redis_client)[token_keys[0]]
    assert tokens["access_token"].count(".") == 2  # a JWT for the API audience
    assert tokens["id_token"].count(".") == 2
    assert tokens["refresh_token"]
    assert tokens["access_token_expires_at"] > tokens["obtained_at"]
    secrets = (tokens["access_token"], tokens["id_token"], tokens["refresh_token"])
    # Nothing in Redis holds a token in clear: a dump or a replica shows none.
    dump = redis_dump(redis_client)
    for token in secrets:
        assert token.encode() not in dump
        assert token.split(".")[-1][:20].encode() not in dump
    # ...and the browser's cookies hold only the session id.
    for cookie in client.cookies.values():
        for token in secrets:
            assert token not in cookie.value


def test_session_json_shows_claims_and_expiry_never_tokens(client, oidc_settings, redis_client):
    assert client.get("/auth/session/").json() == {"authenticated": False}
    login(client)
    response = client.get("/auth/session/")
    body = response.json()
    assert body["authenticated"] is True
    assert body["user"]["sub"] == "alice"
    assert body["user"]["email"] == "alice@example.test"
    assert body["expires"]["access_token"].endswith("Z")
    assert "no-store" in response["Cache-Control"]
    (tokens,) = stored_token_records(redis_client).values()
    for token in (tokens["access_token"], tokens["id_token"], tokens["refresh_token"]):
        assert token not in response.content.decode()


def test_users_match_on_issuer_and_subject_not_email(client, oidc_settings, provider):
    impostor = User.objects.create_user("someone", email="alice@example.test")
    login(client, "alice")
    identity = OIDCIdentity.objects.get(issuer=provider.issuer, subject="alice")
    assert identity.user != impostor
    client.logout()
    login(client, "alice")
    assert OIDCIdentity.objects.filter(subject="alice").count() == 1
    assert User.objects.filter(oidc_identities__subject="alice").count() == 1


def test_replayed_callback_is_refused_with_400(client, oidc_settings):
    authorize = start_login(client)
    callback = sign_in_at_provider(requests.Session(), authorize, "alice", stop_at=CALLBACK)
    assert client.get(callback).status_code == 302
    replay = client.get(callback)
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()


def test_unknown_state_is_refused_with_400(client, oidc_settings):
    start_login(client)
    response = client.get("/auth/callback/", {"code": "abc", "state": "forged"})
    assert response.status_code == 400
    assert "Login could not be completed" in response.content.decode()


def test_callback_without_code_is_refused(client, oidc_settings):
    response = client.get("/auth/callback/")
    assert response.status_code == 400


def test_provider_error_is_shown_with_its_message(client, oidc_settings):
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    state = state_in(start_login(client))
    response = client.get(
        "/auth/callback/",
        {"error": "access_denied", "error_description": "End-User aborted", "state": state},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "declined" in page
    assert "End-User aborted" in page
    # The state is spent: a success cannot be replayed onto it afterwards.
    assert entry(state) is None
    replay = client.get("/auth/callback/", {"code": "x", "state": state})
    assert replay.status_code == 400
    assert "expired or was already used" in replay.content.decode()


def test_missing_rfc9207_iss_is_refused_when_advertised(client, oidc_settings, provider):
    assert provider.discovery()["authorization_response_iss_parameter_supported"] is True
    authorize = start_login(client)
    callback = sign_in_at_provider(requests.Session(), authorize, "alice", stop_at=CALLBACK)
    parts = urlsplit(callback)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params.pop("iss") == provider.issuer
    response = client.get("/auth/callback/", params)
    assert response.status_code == 400
    assert "iss" in response.content.decode()


def test_wrong_rfc9207_iss_is_refused(client, oidc_settings):
    authorize = start_login(client)
    callback = sign_in_at_provider(requests.Session(), authorize, "alice", stop_at=CALLBACK)
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    params["iss"] = "https://evil.test"
    response = client.get("/auth/callback/", params)
    assert response.status_code == 400
    assert "another identity provider" in response.content.decode()


def test_id_token_failing_validation_is_a_400(client, oidc_settings):
    authorize = start_login(client)
    callback = sign_in_at_provider(requests.Session(), authorize, "alice", stop_at=CALLBACK)
    change_entry(state_in(callback), nonce="not-the-nonce-that-was-sent")
    response = client.get(callback)
    assert response.status_code == 400
    assert "nonce" in response.content.decode()
    assert client.get("/auth/session/").json() == {"authenticated": False}


def test_discovery_issuer_mismatch_stops_login(client, oidc_settings, provider):
    oidc_settings.OIDC_ISSUER = provider.issuer + "/"  # the trailing slash is enough
    response = client.get("/auth/login/")
    assert response.status_code == 502
    assert "names issuer" in response.content.decode()


def test_unreachable_provider_is_a_502_page(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"
    response = client.get("/auth/login/")
    assert response.status_code == 502
    assert "identity provider is unavailable" in response.content.decode()


def test_logout_requires_post_and_csrf(oidc_settings):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client)
    confirm = client.get("/auth/logout/")
    assert confirm.status_code == 200
    assert "Log out?" in confirm.content.decode()
    refused = client.post("/auth/logout/")
    assert refused.status_code == 403
    assert "Reload the page and try again" in refused.content.decode()
    assert client.get("/auth/session/").json()["authenticated"] is True


def test_logout_clears_session_and_goes_to_end_session(
    client, oidc_settings, provider, redis_client
):
    login(client)
    key, _ = session_record(redis_client, client)
    (tokens,) = stored_token_records(redis_client).values()
    id_token = tokens["id_token"]
    response = client.post("/auth/logout/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert response["Location"].startswith(provider.discovery()["end_session_endpoint"])
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == "http://testserver/"
    assert redis_client.keys(f"*{key}*") == []
    assert client.get("/auth/session/").json() == {"authenticated": False}


def test_logout_still_works_when_provider_is_down(client, oidc_settings, redis_client):
    login(client)
    key, _ = session_record(redis_client, client)
    oidc_settings.OIDC_ISSUER = "http://127.0.0.1:9"
    from accounts.oidc.discovery import forget_provider_metadata

    forget_provider_metadata()
    response = client.post("/auth/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert redis_client.keys(f"*{key}*") == []


def test_account_page_requires_login(client, oidc_settings):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/?next=/account/"


def _end_session_params(response, provider):
    assert response.status_code == 302
    assert response["Location"].startswith(provider.discovery()["end_session_endpoint"])
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def test_logout_never_spends_a_refresh_grant(client, oidc_settings, provider, redis_client):
    from tests.accounts.tokens.test_refresh import expire_access_token

    login(client)
    expire_access_token(client)
    provider.reset_stats()
    params = _end_session_params(client.post("/auth/logout/"), provider)
    assert provider.stats()["refresh_grants"] == 0
    assert params["id_token_hint"]


def test_logout_after_the_session_ran_out_still_reaches_the_provider(
    client, oidc_settings, provider, redis_client, monkeypatch
):
    from accounts.sessions import lifetimes

    login(client)
    (tokens,) = stored_token_records(redis_client).values()
    # A month later: both of the session's clocks have run out.
    later = lifetimes.now() + 30 * 86400
    monkeypatch.setattr(lifetimes, "now", lambda: later)
    params = _end_session_params(client.post("/auth/logout/"), provider)
    # Logged out at the provider with the session's own hint, not sent to log in again (the
    # provider's session would sign the user straight back in).
    assert params["id_token_hint"] == tokens["id_token"]
    assert stored_token_records(redis_client) == {}


def test_logout_without_a_session_still_ends_the_providers(client, oidc_settings, provider):
    params = _end_session_params(client.post("/auth/logout/"), provider)
    assert params["client_id"] == provider.client_id
    assert params["post_logout_redirect_uri"] == "http://testserver/"


def test_the_account_page_speaks_plainly(client, oidc_settings):
    login(client)
    page = client.get("/account/").content.decode()
    # Claims read as words (email_verified is JSON true), times as dates with how far off.
    assert "<th>email_verified</th><td>yes</td>" in page
    assert "True" not in page
    assert "Session ends at the latest" in page
    assert "Session ends if idle until" in page
    assert "(in 6" in page  # the absolute lifetime: 7 days minus a moment, "in 6 days, 23 hours"
    assert "(in 23" in page  # the inactivity timeout: 1 day minus a moment
    assert not re.search(r">\d{4}-\d\d-\d\dT\d\d:", page)  # no raw ISO timestamps shown


def test_session_json_names_both_deadlines(client, oidc_settings, redis_client):
    from datetime import datetime, timedelta

    login(client)
    expires = client.get("/auth/session/").json()["expires"]
    absolute = datetime.fromisoformat(expires["absolute"])
    inactivity = datetime.fromisoformat(expires["inactivity"])
    # The default policy: 7 days after login, 1 day after the last request.
    assert (
        timedelta(days=6, hours=23) < absolute - datetime.now(absolute.tzinfo) <= timedelta(days=7)
    )
    assert timedelta(hours=23) < inactivity - datetime.now(inactivity.tzinfo) <= timedelta(days=1)
    # The old key stays for one release, as the earlier of the two.
    assert abs(datetime.fromisoformat(expires["session"]) - inactivity) < timedelta(seconds=5)
