"""Step-up authentication against the real local provider: pages that need a stronger or a recent
login send the user through the provider with ``acr_values`` or ``max_age`` and back, API calls
get 401 JSON that says how, and a login that comes back short is refused with a page.

The pages are the example app's (``tests/extending/example_app.py``): ``/payouts/`` needs the
provider's second level, ``/change-email/`` a login at most five minutes old.
"""

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from accounts.step_up.session import SESSION_KEY
from tests.logins_in_progress import entry, login_keys
from tests.stack import sign_in_at_provider, stored_token_records

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.integration,
    pytest.mark.urls("tests.extending.example_app"),
]

CALLBACK = "http://testserver/auth/callback/"
BASE, TWO_FACTORS = "urn:dev:loa:1", "urn:dev:loa:2"


def through_the_provider(client, login_url, username="alice"):
    """Follow ``login_url`` through the provider's forms; the site's answer to the callback."""
    start = client.get(login_url)
    assert start.status_code == 302, start.content[:300]
    callback = sign_in_at_provider(requests.Session(), start["Location"], username, CALLBACK)
    return client.get(callback)


def log_in(client, username="alice"):
    assert through_the_provider(client, "/auth/login/?next=/", username).status_code == 302
    return client


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def id_token_claims(redis_client):
    (record,) = stored_token_records(redis_client).values()
    return jwt.decode(record["id_token"], options={"verify_signature": False})


def test_the_login_asks_the_provider_for_the_level_and_keeps_it_with_its_state(
    client, oidc_settings
):
    oidc_settings.OIDC_USE_PAR = "never"  # the parameters are read from the browser's URL
    response = client.get(
        "/auth/login/", {"next": "/payouts/", "acr_values": TWO_FACTORS, "max_age": "60"}
    )
    assert response.status_code == 302
    params = query(response["Location"])
    assert params["acr_values"] == TWO_FACTORS
    assert params["max_age"] == "60"
    kept = entry(params["state"])
    stored = (kept["next"], kept["acr_values"], kept["max_age"])
    assert stored == ("/payouts/", [TWO_FACTORS], 60)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"acr_values": "<script>"}, "not a token"),
        ({"acr_values": "a\tb"}, "not a token"),  # space-delimited: one value, with a tab
        ({"max_age": "-5"}, "max_age"),
        ({"max_age": "soon"}, "max_age"),
    ],
)
def test_a_malformed_step_up_link_is_a_400_page(client, oidc_settings, redis_client, params, says):
    response = client.get("/auth/login/", params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This login link is not valid" in page
    assert says in page
    assert login_keys(redis_client) == []  # nothing was begun
    assert not any(name.startswith("login-") for name in response.cookies)


def test_a_base_login_records_its_level_and_when(client, oidc_settings, redis_client):
    log_in(client)
    claims = id_token_claims(redis_client)
    assert claims["acr"] == BASE
    assert client.session[SESSION_KEY] == {"acr": BASE, "auth_time": claims["auth_time"]}
    shown = client.get("/auth/session/").json()["authentication"]
    assert shown["acr"] == BASE
    assert datetime.fromisoformat(shown["auth_time"]).timestamp() == claims["auth_time"]


def test_a_page_needing_more_sends_the_user_through_the_provider_and_back(
    client, oidc_settings, redis_client
):
    log_in(client)
    response = client.get("/payouts/")
    assert response.status_code == 302
    login_url = response["Location"]
    assert query(login_url) == {"next": "/payouts/", "acr_values": TWO_FACTORS}

    back = through_the_provider(client, login_url)
    assert back.status_code == 302
    assert back["Location"] == "/payouts/"
    page = client.get("/payouts/")
    assert page.status_code == 200
    assert f'<p data-testid="acr">{TWO_FACTORS}</p>' in page.content.decode()
    assert id_token_claims(redis_client)["acr"] == TWO_FACTORS
    # A page's script can see the level before it calls.
    assert client.get("/auth/session/").json()["authentication"]["acr"] == TWO_FACTORS


def test_a_visitor_not_logged_in_logs_in_once_at_the_level_needed(client, oidc_settings):
    response = client.get("/payouts/")
    assert response.status_code == 302
    assert query(response["Location"]) == {"next": "/payouts/", "acr_values": TWO_FACTORS}
    assert through_the_provider(client, response["Location"])["Location"] == "/payouts/"
    assert client.get("/payouts/").status_code == 200


def test_an_api_call_gets_401_json_that_says_how_to_step_up(client, oidc_settings):
    log_in(client)
    response = client.get(
        "/payouts/", HTTP_ACCEPT="application/json", HTTP_REFERER="http://testserver/bank/"
    )
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "step_up_required"
    assert body["acr_values"] == [TWO_FACTORS]
    assert body["max_age"] is None
    # Back to the page that made the call, which can then call again.
    assert query(body["login_url"]) == {"next": "/bank/", "acr_values": TWO_FACTORS}
    assert body["login_url"].startswith("/auth/login/?")


def test_a_page_needing_a_recent_login_asks_for_max_age(client, oidc_settings):
    log_in(client)
    # Just logged in: recent enough.
    first = client.get("/change-email/")
    assert first.status_code == 200
    # Ten minutes later, as far as the session knows.
    session = client.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "auth_time": first.json()["auth_time"] - 600}
    session.save()
    response = client.get("/change-email/")
    assert response.status_code == 302
    assert query(response["Location"]) == {"next": "/change-email/", "max_age": "300"}
    assert through_the_provider(client, response["Location"])["Location"] == "/change-email/"
    again = client.get("/change-email/")
    assert again.status_code == 200
    assert again.json()["auth_time"] >= first.json()["auth_time"]


def test_a_login_that_does_not_reach_the_level_is_a_403_page_and_the_session_stays(
    client, oidc_settings, redis_client
):
    log_in(client)
    before = client.session[SESSION_KEY]
    # The provider has no such level: it ignores acr_values it does not support (they are
    # voluntary) and logs the user in at its own.
    response = through_the_provider(
        client, "/auth/login/?next=/payouts/&acr_values=urn%3Adev%3Aloa%3A9"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "The login did not reach the required level" in page
    assert f"authenticated you as &#x27;{BASE}&#x27;, and this needs urn:dev:loa:9" in page
    # The login the session had goes on as it was; the refused one left no tokens.
    assert client.get("/auth/session/").json()["authenticated"] is True
    assert client.session[SESSION_KEY] == before
    assert id_token_claims(redis_client)["acr"] == BASE


def test_a_first_login_that_does_not_reach_the_level_logs_nobody_in(client, oidc_settings):
    response = through_the_provider(client, "/auth/login/?acr_values=urn%3Adev%3Aloa%3A9")
    assert response.status_code == 403
    assert client.get("/auth/session/").json() == {"authenticated": False}
