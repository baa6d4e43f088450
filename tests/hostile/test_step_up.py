"""A step-up login whose ID token does not show what was asked for: no ``acr``, another ``acr``,
no ``auth_time``, an ``auth_time`` too old. Each is a 403 page that says which, never a 500,
and nobody is logged in by it."""

import time

import pytest
import requests

from tests.hostile.flows import CALLBACK, assert_login_refused, log_in

pytestmark = pytest.mark.django_db


def step_up_login(client, **params):
    start = client.get("/auth/login/", {"next": "/account/", **params})
    assert start.status_code == 302, start.content[:500]
    answer = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert answer.headers["Location"].startswith(CALLBACK)
    return client.get(answer.headers["Location"])


@pytest.mark.parametrize(
    ("params", "token", "says"),
    [
        ({"acr_values": "gold"}, {}, "did not say how you authenticated (no 'acr')"),
        (
            {"acr_values": "gold platinum"},
            {"acr": "silver"},
            "authenticated you as 'silver', and this needs one of gold, platinum",
        ),
        ({"max_age": "60"}, {"without": ["auth_time"]}, "did not say when you authenticated"),
        (
            {"max_age": "60"},
            {"auth_time": int(time.time()) - 3600},
            "older than the 60 seconds this allows",
        ),
        (
            {"max_age": "60"},
            {"auth_time": int(time.time()) + 3600},
            "authenticated at a time still to come",
        ),
        (
            {"acr_values": "gold", "max_age": "0"},
            {"acr": "gold", "auth_time": int(time.time()) - 3600},
            "older than the 0 seconds this allows",
        ),
    ],
)
def test_a_login_short_of_what_it_asked_for_is_refused(
    client, hostile, redis_client, params, token, says
):
    hostile.next_id_token(**token)
    response = step_up_login(client, **params)
    assert_login_refused(response, says, client, redis_client, status=403)


def test_a_login_with_what_it_asked_for_goes_through(client, hostile):
    hostile.next_id_token(acr="gold", auth_time=int(time.time()) - 30)
    response = step_up_login(client, acr_values="silver gold", max_age="60")
    assert response.status_code == 302
    assert response["Location"] == "/account/"


def test_a_link_with_spaces_in_a_row_asks_for_each_value(client, hostile):
    # Written by hand, a link or a challenge has them: it was a 400 page.
    hostile.next_id_token(acr="gold", auth_time=int(time.time()))
    response = step_up_login(client, acr_values=" silver  gold ")
    assert response.status_code == 302
    assert client.get("/auth/session/").json()["authentication"]["acr"] == "gold"


def test_a_refused_step_up_leaves_the_earlier_login_as_it_was(client, hostile, redis_client):
    assert log_in(client).status_code == 302
    hostile.next_id_token(acr="silver")
    response = step_up_login(client, acr_values="gold")
    assert response.status_code == 403
    info = client.get("/auth/session/").json()
    assert info["authenticated"] is True
    assert info["user"]["sub"] == "alice"


ODD_AUTH_TIMES = [10**400, 1e300, float("nan"), float("inf"), -1, True, "1700000000"]


@pytest.mark.parametrize("auth_time", ODD_AUTH_TIMES)
def test_a_step_up_whose_auth_time_is_no_time_is_refused(client, hostile, redis_client, auth_time):
    # 10**400 was a 500 at the callback; NaN passed every max_age.
    hostile.next_id_token(auth_time=auth_time)
    response = step_up_login(client, max_age="60")
    says = "did not say when you authenticated"
    assert_login_refused(response, says, client, redis_client, status=403)


@pytest.mark.parametrize("auth_time", [*ODD_AUTH_TIMES, int(time.time()) + 3600])
def test_an_odd_auth_time_is_not_kept_when_none_was_asked_for(client, hostile, auth_time):
    hostile.next_id_token(auth_time=auth_time)
    assert log_in(client).status_code == 302
    info = client.get("/auth/session/")
    assert info.status_code == 200
    assert info.json()["authentication"]["auth_time"] is None
    assert client.get("/account/").status_code == 200


@pytest.mark.parametrize("acr", ["x" * 201, ["gold"], {"gold": True}, "gold\u0000"])
def test_an_odd_acr_is_no_acr(client, hostile, redis_client, acr):
    hostile.next_id_token(acr=acr)
    response = step_up_login(client, acr_values="gold")
    assert_login_refused(response, "(no 'acr')", client, redis_client, status=403)
    hostile.next_id_token(acr=acr)
    assert log_in(client).status_code == 302
    assert client.get("/auth/session/").json()["authentication"]["acr"] is None


@pytest.mark.urls("tests.extending.example_app")
@pytest.mark.parametrize("stored", [1e300, float("nan"), float("inf"), "soon", [1]])
def test_an_odd_level_kept_by_an_earlier_version_is_shown_as_unknown(client, hostile, stored):
    assert log_in(client).status_code == 302
    session = client.session
    session["accounts_authentication"] = {"acr": "gold", "auth_time": stored}
    session.save()
    info = client.get("/auth/session/")
    assert info.status_code == 200
    assert info.json()["authentication"] == {"acr": "gold", "auth_time": None}
    # A page needing a login at most five minutes old asks for one: NaN is not recent.
    page = client.get("/change-email/")
    assert page.status_code == 302
    assert "max_age=300" in page["Location"]
