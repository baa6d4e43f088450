"""Step-up through the proxy, on both paths (WSGI view and ASGI edge): an upstream that requires
a level (``"acr"``/``"max_age"`` in ``PROXY_UPSTREAMS``) is never called with a login short of
it, and an upstream's RFC 9470 challenge becomes the same 401 JSON, so the page can send the
user through the login at ``login_url`` and call again."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from accounts.api import AuthenticationRequirement
from proxy.step_up import step_up_challenge
from proxy.upstreams import UpstreamConfigError, parse_upstream
from tests.proxy.conftest import CALLBACK, login
from tests.stack import sign_in_at_provider

TWO_FACTORS = "urn:dev:loa:2"
PAGE = "http://testserver/bank/"
STEP_UP = f'Bearer error="insufficient_user_authentication", acr_values="{TWO_FACTORS}"'


# --- the challenge, read ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "values", "required"),
    [
        (401, [STEP_UP], AuthenticationRequirement((TWO_FACTORS,))),
        (
            401,
            ['Bearer error="insufficient_user_authentication", acr_values="a b", max_age="300"'],
            AuthenticationRequirement(("a", "b"), 300),
        ),
        (
            401,
            ['Bearer error="insufficient_user_authentication", max_age=0'],
            AuthenticationRequirement(max_age=0),
        ),
        # Neither acr_values nor max_age: not enough, but nothing named. A fresh login is the
        # one thing that changes something (asking for nothing would bring back the same one).
        (
            401,
            ['Bearer error="insufficient_user_authentication"'],
            AuthenticationRequirement(max_age=0),
        ),
        (
            401,
            ['Bearer error="insufficient_user_authentication", acr_values="", max_age=""'],
            AuthenticationRequirement(max_age=0),
        ),
        # Spaces in a row (hand-written): still two values, not a malformed challenge.
        (
            401,
            ['Bearer error="insufficient_user_authentication", acr_values="a  b "'],
            AuthenticationRequirement(("a", "b")),
        ),
        # A DPoP-bound token is challenged with its own scheme, with the same errors.
        (401, ['DPoP error="insufficient_user_authentication", acr_values="x"'], ("x",)),
        (401, ['Basic realm="r"', STEP_UP], AuthenticationRequirement((TWO_FACTORS,))),
        # Not a step-up: another error, another scheme, another status.
        (401, ['Bearer error="invalid_token"'], None),
        (401, ['Bearer error="insufficient_scope", scope="x"'], None),
        (401, ['Basic error="insufficient_user_authentication"'], None),
        (403, [STEP_UP], None),
        (401, [], None),
        # Malformed: nothing to ask the provider for; the 401 passes as any other.
        (401, ['Bearer error="insufficient_user_authentication", max_age="soon"'], None),
        (401, ['Bearer error="insufficient_user_authentication", acr_values="<x>"'], None),
    ],
)
def test_which_401s_ask_for_a_step_up(status, values, required):
    if isinstance(required, tuple):
        required = AuthenticationRequirement(required)
    assert step_up_challenge(status, values) == required


# --- the upstream's settings --------------------------------------------------------------------


def test_an_upstream_can_require_a_level_and_a_recent_login():
    upstream = parse_upstream(
        "bank", {"url": "https://bank.test", "acr": [TWO_FACTORS, "urn:x"], "max_age": 600}
    )
    assert upstream.requirement == AuthenticationRequirement((TWO_FACTORS, "urn:x"), 600)
    assert parse_upstream("plain", "https://bank.test").requirement is None
    single = parse_upstream("one", {"url": "https://bank.test", "acr": "urn:a urn:b"})
    assert single.requirement == AuthenticationRequirement(("urn:a", "urn:b"))


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"acr": ""}, "acr must name at least one value"),
        ({"acr": 5}, "acr must be a string"),
        ({"acr": ['two "words"']}, "not a token"),
        ({"max_age": -1}, "max_age"),
        ({"max_age": "600"}, "max_age"),
        ({"acr": "urn:x", "auth": "optional"}, "need auth 'required'"),
        ({"max_age": 60, "auth": "none"}, "need auth 'required'"),
    ],
)
def test_a_requirement_that_cannot_work_is_a_configuration_error(entry, complaint):
    with pytest.raises(UpstreamConfigError, match=complaint):
        parse_upstream("bank", {"url": "https://bank.test", **entry})


def test_the_system_check_names_it(settings):
    settings.PROXY_UPSTREAMS = {"bank": {"url": "https://bank.test", "acr": "x", "auth": "none"}}
    with pytest.raises(SystemCheckError, match=r"proxy.E002.*'bank'.*need auth 'required'"):
        call_command("check")


# --- through the proxy, against the real provider -----------------------------------------------


@pytest.fixture
def upstreams(proxy_settings, echo, sample_api):
    proxy_settings.PROXY_UPSTREAMS = {
        **proxy_settings.PROXY_UPSTREAMS,
        "strong": {"url": echo.url, "acr": TWO_FACTORS},
        "recent": {"url": echo.url, "max_age": 300},
    }
    return proxy_settings


def call(client, path):
    """A page's script calling through the proxy, as fetch() sends it."""
    return client.get(path, HTTP_X_CSRF="1", HTTP_REFERER=PAGE, HTTP_ACCEPT="*/*")


def step_up(client, login_url, username="alice"):
    """What the page does with ``login_url``: the user goes through the provider and back."""
    start = client.get(login_url)
    assert start.status_code == 302
    callback = sign_in_at_provider(requests.Session(), start["Location"], username, CALLBACK)
    back = client.get(callback)
    assert back.status_code == 302
    return back["Location"]


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_upstream_requiring_a_level_is_not_called_with_less(upstreams, echo, make_client):
    client = login(make_client())
    response = call(client, "/api/proxy/strong/accounts")
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "step_up_required"
    assert body["acr_values"] == [TWO_FACTORS]
    assert body["max_age"] is None
    # Back to the page that made the call, which calls again.
    assert query(body["login_url"]) == {"next": "/bank/", "acr_values": TWO_FACTORS}
    assert echo.arrivals == []

    assert step_up(client, body["login_url"]) == "/bank/"
    again = call(client, "/api/proxy/strong/accounts")
    assert again.status_code == 200
    assert echo.arrivals[-1].bearer


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_nobody_logged_in_is_sent_to_one_login_at_the_level(upstreams, echo, make_client):
    response = call(make_client(), "/api/proxy/strong/accounts")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "login_required"
    assert query(body["login_url"]) == {"next": "/bank/", "acr_values": TWO_FACTORS}
    assert echo.arrivals == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_upstream_requiring_a_recent_login(upstreams, echo, make_client):
    client = login(make_client())
    assert call(client, "/api/proxy/recent/x").status_code == 200  # just logged in
    session = client.session
    session["accounts_authentication"]["auth_time"] -= 3600
    session.save()
    response = call(client, "/api/proxy/recent/x")
    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["max_age"]) == ("step_up_required", 300)
    assert query(body["login_url"]) == {"next": "/bank/", "max_age": "300"}
    assert len(echo.arrivals) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_upstreams_step_up_challenge_becomes_the_same_json(
    proxy_settings, echo, provider, make_client
):
    client = login(make_client())
    provider.reset_stats()
    challenge = (
        'Bearer realm="bank", error="insufficient_user_authentication", '
        f'error_description="needs MFA", acr_values="{TWO_FACTORS} urn:x", max_age="120"'
    )
    response = call(client, "/api/proxy/echo/unauthorized?" + _qs(challenge))
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "step_up_required"
    assert body["acr_values"] == [TWO_FACTORS, "urn:x"]
    assert body["max_age"] == 120
    assert query(body["login_url"]) == {
        "next": "/bank/",
        "acr_values": f"{TWO_FACTORS} urn:x",
        "max_age": "120",
    }
    # The upstream's own body stays behind, and no token was renewed for it, nor the call sent
    # again: a new token from the same login would be refused the same way.
    assert "no" not in body
    assert len(echo.arrivals) == 1
    assert provider.stats()["refresh_grants"] == 0


def meet(client, acr=TWO_FACTORS):
    """The session's login has the level, as far as the session knows: the user stepped up, and
    the provider left the level out of the access token."""
    session = client.session
    session["accounts_authentication"] = {**session["accounts_authentication"], "acr": acr}
    session.save()


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_session_with_the_level_renews_its_token_instead_of_logging_in_again(
    proxy_settings, echo, provider, make_client
):
    client = login(make_client())
    meet(client)
    provider.reset_stats()
    response = call(client, "/api/proxy/echo/step-up-first?" + _qs(STEP_UP))
    # The renewed token carries the level, as far as this API knows: the call goes through.
    assert response.status_code == 200
    first, second = echo.arrivals
    assert first.token != second.token
    assert provider.stats()["refresh_grants"] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_api_that_keeps_challenging_a_session_with_the_level_is_a_403_not_a_login_loop(
    proxy_settings, echo, provider, make_client
):
    client = login(make_client())
    meet(client)
    provider.reset_stats()
    response = call(client, "/api/proxy/echo/unauthorized?" + _qs(STEP_UP))
    # Before: 401 step_up_required with a login_url, which brought back the same level and the
    # same challenge, for ever.
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "upstream_step_up_unmet"
    assert "login_url" not in body
    assert "logging in again would change nothing" in body["message"]
    assert len(echo.arrivals) == 2  # sent once more, with a renewed token
    assert provider.stats()["refresh_grants"] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_empty_step_up_challenge_asks_for_a_fresh_login_once(proxy_settings, echo, make_client):
    client = login(make_client())
    session = client.session
    session["accounts_authentication"]["auth_time"] -= 3600
    session.save()
    empty = _qs('Bearer error="insufficient_user_authentication"')
    response = call(client, "/api/proxy/echo/unauthorized?" + empty)
    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["acr_values"], body["max_age"]) == ("step_up_required", [], 0)
    assert query(body["login_url"]) == {"next": "/bank/", "max_age": "0"}
    assert len(echo.arrivals) == 1

    assert step_up(client, body["login_url"]) == "/bank/"
    # A login this fresh is all the challenge could ask for: asked again, it is not a loop.
    again = call(client, "/api/proxy/echo/unauthorized?" + empty)
    assert (again.status_code, again.json()["error"]) == (403, "upstream_step_up_unmet")


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_step_up_challenge_to_a_streamed_body_steps_up_a_short_login_else_is_a_403(
    proxy_settings, echo, provider, make_client
):
    body = b"x" * (100 * 1024)  # over the replay buffer: it streams and cannot be sent twice
    path = "/api/proxy/echo/unauthorized?" + _qs(STEP_UP)
    headers = {"HTTP_X_CSRF": "1", "HTTP_REFERER": PAGE, "HTTP_ACCEPT": "*/*"}
    client = login(make_client())
    provider.reset_stats()
    short = client.post(path, body, content_type="text/plain", **headers)
    assert (short.status_code, short.json()["error"]) == (401, "step_up_required")
    assert query(short.json()["login_url"]) == {"next": "/bank/", "acr_values": TWO_FACTORS}

    meet(client)
    met = client.post(path, body, content_type="text/plain", **headers)
    # The login has what the API asks for, and the call cannot go again with a renewed token:
    # a login would bring back the same, so the proxy says so rather than loop.
    assert (met.status_code, met.json()["error"]) == (403, "upstream_step_up_unmet")
    assert [arrival.body for arrival in echo.arrivals] == [body, body]  # each sent once
    assert provider.stats()["refresh_grants"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_malformed_step_up_challenge_passes_as_the_upstreams_401(proxy_settings, make_client):
    client = login(make_client())
    challenge = 'Bearer error="insufficient_user_authentication", max_age="soon"'
    response = call(client, "/api/proxy/echo/unauthorized?" + _qs(challenge))
    assert response.status_code == 401
    assert response.json() == {"error": "no"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_real_api_that_requires_two_factors(proxy_settings, sample_api, make_client):
    """The sample API checks the access token's acr and answers RFC 9470; after the step-up the
    token it gets carries the level, and the call the page makes again succeeds."""
    client = login(make_client())
    response = call(client, "/api/proxy/api/transfers")
    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["acr_values"]) == ("step_up_required", [TWO_FACTORS])

    assert step_up(client, body["login_url"]) == "/bank/"
    again = call(client, "/api/proxy/api/transfers")
    assert again.status_code == 200
    assert again.json()["acr"] == TWO_FACTORS


def _qs(challenge):
    return urlencode({"challenge": challenge})


# --- WebSocket handshakes (the ASGI edge only) -----------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_websocket_to_an_upstream_requiring_a_level(proxy_settings, live_edge, sample_api):
    from tests.proxy.test_websockets import open_socket, refused, session_of

    proxy_settings.PROXY_UPSTREAMS = {
        **proxy_settings.PROXY_UPSTREAMS,
        "strong-live": {"url": sample_api.live_url, "websocket": True, "acr": TWO_FACTORS},
    }
    client = login(Client())
    status, body = refused(live_edge, "/api/proxy/strong-live/echo", cookie=session_of(client))
    assert (status, body["error"], body["acr_values"]) == (401, "step_up_required", [TWO_FACTORS])

    step_up(client, body["login_url"])
    with open_socket(live_edge, "/api/proxy/strong-live/echo", cookie=session_of(client)) as ws:
        ws.send("hello")
        assert ws.recv(5) == "hello"


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_upstreams_step_up_challenge_to_a_websocket_handshake(proxy_settings, live_edge, echo):
    from tests.proxy.test_websockets import refused, session_of

    proxy_settings.PROXY_UPSTREAMS = {
        **proxy_settings.PROXY_UPSTREAMS,
        "echo-ws": {"url": echo.url, "websocket": True},
    }
    client = login(Client())
    status, body = refused(
        live_edge, "/api/proxy/echo-ws/unauthorized?" + _qs(STEP_UP), cookie=session_of(client)
    )
    assert status == 401
    assert body["error"] == "step_up_required"
    assert body["acr_values"] == [TWO_FACTORS]
    assert len(echo.arrivals) == 1  # not tried again with a renewed token


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_websocket_handshake_challenged_again_after_a_renewal_is_a_403(
    proxy_settings, live_edge, echo
):
    from tests.proxy.test_websockets import refused, session_of

    proxy_settings.PROXY_UPSTREAMS = {
        **proxy_settings.PROXY_UPSTREAMS,
        "echo-ws": {"url": echo.url, "websocket": True},
    }
    client = login(Client())
    meet(client)
    status, body = refused(
        live_edge, "/api/proxy/echo-ws/unauthorized?" + _qs(STEP_UP), cookie=session_of(client)
    )
    assert (status, body["error"]) == (403, "upstream_step_up_unmet")
    assert len(echo.arrivals) == 2
