"""Pushed authorization requests (RFC 9126) against a provider that misbehaves: whatever it
answers, the person trying to log in sees a page that says what went wrong, with a 4xx for a
refusal, a 503 for a busy provider and a 502 for a provider at fault, and is not logged in."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.hostile.flows import assert_logged_in, assert_login_refused, log_in
from tests.logins_in_progress import entry

pytestmark = pytest.mark.django_db

PUSHED_ALWAYS = {
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
}


def test_a_pushed_login_carries_every_parameter_by_the_back_channel(client, hostile, settings):
    hostile.offer_par = True
    settings.OIDC_AUDIENCE = "https://api.one.test"
    settings.OIDC_EXTRA_AUDIENCES = ["https://api.two.test"]
    settings.OIDC_EXTRA_AUTH_PARAMS = {"ui_locales": "de"}
    start = client.get("/auth/login/", {"next": "/account/"})
    assert start["Location"].startswith(f"{hostile.issuer}/authorize?")
    browser_sees = parse_qs(urlsplit(start["Location"]).query)
    assert set(browser_sees) == {"client_id", "request_uri"}

    (pushed,) = hostile.pushed
    names = [name for name, _ in pushed]
    assert PUSHED_ALWAYS | {"resource", "ui_locales"} == set(names)
    assert names.count("client_id") == 1
    assert [value for name, value in pushed if name == "resource"] == [
        "https://api.one.test",
        "https://api.two.test",
    ]
    assert entry(dict(pushed)["state"]) is not None
    assert dict(pushed)["code_challenge_method"] == "S256"
    # The secret went in the Authorization header, never into the pushed parameters.
    assert "client_secret" not in names

    callback = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert client.get(callback.headers["Location"]).status_code == 302
    assert_logged_in(client)


@pytest.mark.parametrize(
    ("answer", "status", "says"),
    [
        (
            (400, {"error": "invalid_request", "error_description": "x"}),
            400,
            "refused the login request (invalid_request)",
        ),
        ((401, {"error": "invalid_client"}), 400, "refused the login request (invalid_client)"),
        ((500, {"error": "server_error"}), 502, "could not take the login request"),
        ((502, b"<html>bad gateway</html>"), 502, "could not take the login request"),
        # Too large: the parameters are the site's (its settings), nothing the user can change.
        ((413, {"error": "invalid_request"}), 502, "(too large). Trying again will not help"),
        ((201, b"not json at all"), 502, "could not take the login request"),
        ((201, {"expires_in": 60}), 502, "could not take the login request"),
        ((201, {"request_uri": 7, "expires_in": 60}), 502, "could not take the login request"),
        ((400, b"garbage"), 502, "could not take the login request"),
    ],
)
def test_a_failed_push_is_a_clear_page_and_no_login(
    client, hostile, redis_client, answer, status, says
):
    hostile.offer_par = True
    hostile.par_answer = answer
    response = client.get("/auth/login/")
    assert_login_refused(response, says, client, redis_client, status=status)
    assert hostile.hits["/authorize"] == 0


@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [
        ((429, {"error": "slow_down"}, {"Retry-After": "30"}), "30"),
        ((429, b"Too Many Requests"), "5"),
        ((503, b"<html>down for maintenance</html>", {"Retry-After": "120"}), "120"),
        # An HTTP date, or a wait no person should be told, is not passed on.
        ((503, b"", {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}), "5"),
        ((429, {}, {"Retry-After": "9999999"}), "5"),
        ((429, {}, {"Retry-After": "-1"}), "5"),
    ],
)
def test_a_busy_provider_is_a_503_with_its_wait(client, hostile, redis_client, answer, retry_after):
    # A rate limit at the push was a 400 page saying the provider refused the login.
    hostile.offer_par = True
    hostile.par_answer = answer
    response = client.get("/auth/login/")
    assert_login_refused(response, "is busy", client, redis_client, status=503)
    assert response["Retry-After"] == retry_after
    api = client.get("/auth/login/", HTTP_ACCEPT="application/json")
    assert (api.status_code, api.json()["error"]) == (503, "provider_busy")
    assert hostile.hits["/authorize"] == 0


def test_a_push_that_gets_no_answer_in_time_is_a_502(client, hostile, redis_client, settings):
    hostile.offer_par = True
    hostile.stall_par = 1.0
    settings.OIDC_HTTP_TIMEOUT = (1.0, 0.3)
    response = client.get("/auth/login/")
    assert_login_refused(response, "did not answer in time", client, redis_client, status=502)


def test_a_failed_push_answers_an_api_call_with_json(client, hostile):
    hostile.offer_par = True
    hostile.par_answer = (500, b"")
    response = client.get("/auth/login/", HTTP_ACCEPT="application/json")
    assert response.status_code == 502
    assert response.json()["error"] == "provider_unavailable"


def test_always_without_a_pushed_authorization_endpoint_is_a_clear_page(
    client, hostile, redis_client, settings
):
    settings.OIDC_USE_PAR = "always"
    response = client.get("/auth/login/")
    assert_login_refused(
        response, "offers no pushed authorization requests", client, redis_client, status=502
    )


def test_never_sends_the_parameters_through_the_browser(client, hostile, settings):
    hostile.offer_par = True
    settings.OIDC_USE_PAR = "never"
    start = client.get("/auth/login/")
    assert set(parse_qs(urlsplit(start["Location"]).query)) >= PUSHED_ALWAYS
    assert hostile.pushed == []


def test_a_provider_that_requires_par_is_pushed_to_even_under_never(client, hostile, settings):
    hostile.offer_par = True
    hostile.discovery_changes = {"require_pushed_authorization_requests": True}
    settings.OIDC_USE_PAR = "never"
    assert log_in(client).status_code == 302
    assert len(hostile.pushed) == 1
    assert_logged_in(client)


def test_auto_without_an_endpoint_logs_in_through_the_browser(client, hostile):
    assert log_in(client).status_code == 302
    assert hostile.pushed == []
    assert_logged_in(client)
