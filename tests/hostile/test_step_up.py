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


def test_a_refused_step_up_leaves_the_earlier_login_as_it_was(client, hostile, redis_client):
    assert log_in(client).status_code == 302
    hostile.next_id_token(acr="silver")
    response = step_up_login(client, acr_values="gold")
    assert response.status_code == 403
    info = client.get("/auth/session/").json()
    assert info["authenticated"] is True
    assert info["user"]["sub"] == "alice"
