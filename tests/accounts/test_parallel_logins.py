"""Several tabs of one browser start a login each, at the real provider; each comes back to its
own page, whichever finishes first, and each is checked against what it asked for. Also when
the logins begin at the same instant: with no session yet (a browser restoring its tabs after a
logout), with an anonymous session, with a logged-in one (a step-up in two tabs), in-process
and against the site under gunicorn."""

import threading
from http.cookies import SimpleCookie
from typing import Any

import pytest
import requests
from django.core.cache import caches
from django.test import Client

from accounts.oidc.login_cookies import MAX_LOGINS_PER_BROWSER
from accounts.oidc.login_states import NEXT_KEY, STATES_KEY, entry_key
from accounts.sessions.store import SessionStore
from tests.logins_in_progress import (
    entry,
    login_cookie,
    login_cookie_names,
    login_keys,
    state_in,
)
from tests.stack import log_in_with_requests, sign_in_at_provider

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"


def start(client, next_path, **params):
    response = client.get("/auth/login/", {"next": next_path, **params})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def at_provider(authorize_url, username="alice"):
    """The callback the provider sends the tab to, not yet delivered."""
    return sign_in_at_provider(requests.Session(), authorize_url, username, stop_at=CALLBACK)


@pytest.mark.parametrize("first", ["notes", "account"])
def test_two_tabs_each_come_back_to_their_own_page(client, oidc_settings, redis_client, first):
    # Both tabs are at the provider's login form before either is sent back.
    notes = at_provider(start(client, "/notes/?tab=2"))
    account = at_provider(start(client, "/account/"))
    callbacks = {"notes": notes, "account": account}
    pages = {"notes": "/notes/?tab=2", "account": "/account/"}
    second = "account" if first == "notes" else "notes"

    done = client.get(callbacks[first])
    assert done.status_code == 302
    assert done["Location"] == pages[first]
    # The first login gave the session a new key; the other tab's login is still pending.
    also = client.get(callbacks[second])
    assert also.status_code == 302
    assert also["Location"] == pages[second]
    assert client.get("/auth/session/").json()["authenticated"] is True
    # Nothing of either login is left, in the browser or in Redis.
    assert login_cookie_names(client) == set()
    assert login_keys(redis_client) == []


def test_a_step_up_in_one_tab_does_not_apply_to_the_other(client, oidc_settings):
    plain = at_provider(start(client, "/account/"))
    # The other tab asks for a level the provider does not have: only that login is refused.
    strong = at_provider(start(client, "/payouts/", acr_values="urn:dev:loa:9"))
    refused = client.get(strong)
    assert refused.status_code == 403
    done = client.get(plain)
    assert done.status_code == 302
    assert done["Location"] == "/account/"


def begin_at_the_same_instant(browser, pages):
    """Begin a login for each page at once, in threads, each request carrying the browser's
    cookies as they are now (two requests that arrive together: neither has seen the other's
    answer); the browser then keeps what both answers set. Returns the authorization URLs."""
    ready = threading.Barrier(len(pages))
    answers: list[Any] = [None] * len(pages)

    def tab(n):
        client = Client()
        client.cookies = SimpleCookie({k: m.value for k, m in browser.cookies.items()})
        ready.wait()
        answers[n] = client.get("/auth/login/", {"next": pages[n]})

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for answer in answers:
        assert answer.status_code == 302, answer.content[:300]
        # Beginning a login writes no session: no answer carries a session cookie to lose.
        assert "sessionid" not in answer.cookies
        browser.cookies.update(answer.cookies)
    return [answer["Location"] for answer in answers]


def anonymous_session(client):
    session = SessionStore()
    session["seen_banner"] = True
    session.save()
    client.cookies["sessionid"] = session.session_key
    return session.session_key


@pytest.mark.parametrize("session", ["none", "anonymous"])
def test_two_logins_begun_at_the_same_instant_both_finish(
    client, oidc_settings, redis_client, session
):
    key = anonymous_session(client) if session == "anonymous" else None
    notes, account = begin_at_the_same_instant(client, ["/notes/", "/account/"])
    assert len(login_cookie_names(client)) == 2
    if key:
        assert SessionStore(key).load() == {"seen_banner": True}

    done = client.get(at_provider(account))
    assert (done.status_code, done["Location"]) == (302, "/account/")
    done = client.get(at_provider(notes))
    assert (done.status_code, done["Location"]) == (302, "/notes/")
    assert client.get("/auth/session/").json()["authenticated"] is True
    if key:
        assert client.session["seen_banner"] is True  # login() kept the anonymous session's data
    assert login_keys(redis_client) == []


def test_beginning_a_login_creates_no_session(client, oidc_settings, redis_client):
    response = client.get("/auth/login/", {"next": "/account/"})
    assert response.status_code == 302
    assert "sessionid" not in response.cookies
    assert redis_client.keys("*django.contrib.sessions*") == []
    assert len(login_keys(redis_client)) == 1


def test_a_browser_holds_a_bounded_number_of_logins(client, oidc_settings):
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    extra = 2
    authorize = [start(client, f"/page/{n}/") for n in range(MAX_LOGINS_PER_BROWSER + extra)]
    assert len(login_cookie_names(client)) == MAX_LOGINS_PER_BROWSER
    # The oldest were dropped; they end on the page that says so, not in an error.
    for dropped in authorize[:extra]:
        assert login_cookie(client, state_in(dropped)).value == ""
        refused = client.get(at_provider(dropped))
        assert refused.status_code == 400
        assert "expired or was already used" in refused.content.decode()
    # The oldest login kept still finishes where it meant to.
    response = client.get(at_provider(authorize[extra]))
    assert (response.status_code, response["Location"]) == (302, f"/page/{extra}/")


@pytest.mark.parametrize("version", ["0.1", "0.2-dev"])
def test_a_login_begun_before_the_upgrade_still_finishes(client, oidc_settings, version):
    """What earlier versions kept in the session: 0.1 a page for the whole session and an entry
    without one; 0.2's first builds the page in the entry."""
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    authorize = start(client, "/ignored/")
    state = state_in(authorize)
    kept = entry(state)
    old = {"nonce": kept["nonce"], "code_verifier": kept["code_verifier"], "added_on": 1.0}
    if version == "0.2-dev":
        old["next"] = "/in-the-entry/"
    # Where the older version kept it: in the session; not in Redis, no cookie of its own.
    caches["sessions"].delete(entry_key(state))
    client.cookies.pop(login_cookie(client, state).key)
    session = client.session
    session[STATES_KEY] = {state: old}
    session[NEXT_KEY] = "/from-before/"
    session.save()

    response = client.get(at_provider(authorize))
    assert response.status_code == 302
    assert response["Location"] == ("/from-before/" if version == "0.1" else "/in-the-entry/")
    assert client.session[STATES_KEY] == {}
    replay = client.get(at_provider(authorize))
    assert replay.status_code == 400


# --- the site under gunicorn, one cookie jar, two threads --------------------------------------


def begin_together(http, site_url, pages):
    """Send the login requests of ``pages`` at once from one requests.Session (one jar)."""
    ready = threading.Barrier(len(pages))
    answers: list[Any] = [None] * len(pages)

    def tab(n):
        ready.wait()
        answers[n] = http.get(
            f"{site_url}/auth/login/", params={"next": pages[n]}, allow_redirects=False
        )

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("session", ["none", "logged-in"])
def test_logins_begun_together_at_the_real_site_all_finish(site, session):
    http = log_in_with_requests(site.url) if session == "logged-in" else requests.Session()
    pages = ["/account/", "/account/session/", "/"]
    answers = begin_together(http, site.url, pages)
    assert [a.status_code for a in answers] == [302] * len(pages)
    # They did overlap: each went out before any answer came back with a cookie.
    sent = {a.request.headers.get("Cookie") for a in answers}
    assert len(sent) == 1, sent
    assert len([c for c in http.cookies if c.name.startswith("login-")]) == len(pages)

    # Completed in another order than begun, each at the provider, then in this browser.
    for n in (1, 2, 0):
        callback = sign_in_at_provider(
            requests.Session(),
            answers[n].headers["Location"],
            "alice",
            stop_at=f"{site.url}/auth/callback/",
        )
        done = http.get(callback, allow_redirects=False)
        assert done.status_code == 302, done.text[:500]
        assert done.headers["Location"] == pages[n]
    info = http.get(f"{site.url}/auth/session/").json()
    assert info["authenticated"] is True
    assert [c.name for c in http.cookies if c.name.startswith("login-")] == []
