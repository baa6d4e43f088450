"""A login in progress finishes once, within its time, and only in the browser that began it,
against the real local provider and Redis; its cookie is small, HttpOnly and Lax, and goes
with the callback's answer, whatever that answer is."""

import threading
import time

import pytest
import requests
from django.test import Client

from accounts.oidc.login_cookies import cookie_name, cookies_to_drop
from tests.logins_in_progress import (
    change_entry,
    entry,
    login_cookie,
    login_keys,
    state_in,
)
from tests.stack import sign_in_at_provider

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"
EXPIRED = "expired or was already used"


def start(client, next_path="/account/"):
    response = client.get("/auth/login/", {"next": next_path})
    assert response.status_code == 302, response.content[:300]
    return response


def at_provider(authorize_url, username="alice"):
    return sign_in_at_provider(requests.Session(), authorize_url, username, stop_at=CALLBACK)


def authenticated(client):
    return client.get("/auth/session/").json()["authenticated"]


def test_the_login_cookie_is_httponly_lax_and_lives_as_long_as_the_login(
    client, oidc_settings, redis_client
):
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    response = start(client)
    state = state_in(response["Location"])
    cookie = response.cookies[cookie_name(state)]
    assert cookie.key.startswith("login-")  # plain http: no __Host- prefix, no Secure
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (True, "Lax", "/")
    assert cookie["max-age"] == 900
    assert not cookie["secure"]
    assert len(cookie.OutputString()) < 200
    # Its entry lives as long; the cookie holds a secret, never the verifier or the nonce.
    (key,) = login_keys(redis_client)
    assert 890 < redis_client.ttl(key) <= 900
    kept = entry(state)
    assert kept["nonce"] not in cookie.value
    assert kept["code_verifier"] not in cookie.value


def test_on_https_the_login_cookie_is_host_prefixed_and_secure(client, oidc_settings):
    oidc_settings.SESSION_COOKIE_SECURE = True
    response = start(client)
    (name,) = [n for n in response.cookies if n.startswith("__Host-login-")]
    assert response.cookies[name]["secure"]
    # The callback finds it under the same name.
    done = client.get(at_provider(response["Location"]), secure=True)
    assert done.status_code == 302
    assert done.cookies[name]["max-age"] == 0
    assert done.cookies[name]["secure"]


def test_a_callback_delivered_to_another_browser_is_refused(client, oidc_settings, redis_client):
    # Login CSRF: an attacker begins a login as herself and sends the victim the callback.
    attacker = Client()
    callback = at_provider(start(attacker)["Location"], username="mallory")
    refused = client.get(callback)
    assert refused.status_code == 400
    assert EXPIRED in refused.content.decode()
    assert authenticated(client) is False
    # A cookie of the right name with another secret does no better.
    client.cookies[cookie_name(state_in(callback))] = "1.not-the-secret"
    assert client.get(callback).status_code == 400
    assert authenticated(client) is False
    # Neither spent the login: the browser that began it still can finish it.
    assert attacker.get(callback).status_code == 302
    assert authenticated(attacker) is True


def test_a_login_that_ran_out_is_refused(client, oidc_settings, redis_client):
    oidc_settings.OIDC_LOGIN_TIMEOUT = 1
    response = start(client)
    (cookie,) = [m for name, m in response.cookies.items() if name.startswith("login-")]
    assert cookie["max-age"] == 1
    callback = at_provider(response["Location"])
    deadline = time.monotonic() + 5
    while login_keys(redis_client) and time.monotonic() < deadline:
        time.sleep(0.1)
    # The test client still sends the cookie a browser would have dropped by now.
    assert login_cookie(client, state_in(callback)) is not None
    refused = client.get(callback)
    assert refused.status_code == 400
    assert EXPIRED in refused.content.decode()
    assert authenticated(client) is False


def test_the_callback_deletes_the_login_cookie_whatever_it_answers(client, oidc_settings):
    callback = at_provider(start(client)["Location"])
    name = cookie_name(state_in(callback))
    wrong_iss = client.get(callback.replace("iss=", "iss=https%3A%2F%2Fevil.test&x="))
    assert wrong_iss.status_code == 400
    assert "another identity provider" in wrong_iss.content.decode()
    assert wrong_iss.cookies[name]["max-age"] == 0
    # The refused answer spent the login too.
    assert client.get(callback).status_code == 400

    callback = at_provider(start(client)["Location"])
    done = client.get(callback)
    assert done.status_code == 302
    assert done.cookies[cookie_name(state_in(callback))]["max-age"] == 0


def test_a_provider_error_spends_the_login_only_in_its_browser(client, oidc_settings):
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    state = state_in(start(client)["Location"])
    error = {"error": "access_denied", "state": state}
    assert Client().get("/auth/callback/", error).status_code == 400
    assert entry(state) is not None  # another browser's error answer changes nothing
    answer = client.get("/auth/callback/", error)
    assert answer.status_code == 400
    assert "declined" in answer.content.decode()
    assert entry(state) is None
    assert answer.cookies[cookie_name(state)]["max-age"] == 0


@pytest.mark.parametrize(
    "changes", [{"nonce": 7}, {"code_verifier": None}, {"acr_values": "x y"}, {"max_age": -1}]
)
def test_an_entry_this_code_did_not_write_is_refused(client, oidc_settings, changes):
    callback = at_provider(start(client)["Location"])
    change_entry(state_in(callback), **changes)
    refused = client.get(callback)
    assert refused.status_code == 400
    assert "not valid" in refused.content.decode()
    assert authenticated(client) is False


def test_without_redis_a_login_cannot_begin_and_says_so(client, oidc_settings, dead_redis):
    response = client.get("/auth/login/")
    assert response.status_code == 503
    assert not any(name.startswith("login-") for name in response.cookies)


def test_the_oldest_login_cookies_are_the_ones_dropped():
    found = {"login-c": "3.x", "login-a": "1.x", "login-b": "2.x", "login-old": "garbage"}
    assert cookies_to_drop(found, keep=2) == ["login-old", "login-a"]
    assert cookies_to_drop(found, keep=4) == []


def test_a_callback_replayed_at_the_same_instant_logs_in_once(site, provider):
    http = requests.Session()
    begun = http.get(f"{site.url}/auth/login/", allow_redirects=False)
    callback = sign_in_at_provider(
        requests.Session(),
        begun.headers["Location"],
        "alice",
        stop_at=f"{site.url}/auth/callback/",
    )
    ready = threading.Barrier(2)
    answers = []

    def deliver():
        ready.wait()
        answers.append(http.get(callback, allow_redirects=False).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [302, 400]
