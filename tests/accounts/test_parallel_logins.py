"""Two tabs of one browser start a login each, at the real provider; each comes back to its own
page, whichever finishes first, and each is checked against what it asked for."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounts.oidc.login_states import NEXT_KEY, STATES_KEY
from tests.stack import sign_in_at_provider

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"


def start(client, next_path, **params):
    response = client.get("/auth/login/", {"next": next_path, **params})
    assert response.status_code == 302
    return response["Location"]


def at_provider(authorize_url, username="alice"):
    """The callback the provider sends the tab to, not yet delivered."""
    return sign_in_at_provider(requests.Session(), authorize_url, username, stop_at=CALLBACK)


@pytest.mark.parametrize("first", ["notes", "account"])
def test_two_tabs_each_come_back_to_their_own_page(client, oidc_settings, first):
    # Both tabs are at the provider's login form before either is sent back.
    notes = at_provider(start(client, "/notes/?tab=2"))
    account = at_provider(start(client, "/account/"))
    callbacks = {"notes": notes, "account": account}
    pages = {"notes": "/notes/?tab=2", "account": "/account/"}
    second = "account" if first == "notes" else "notes"

    done = client.get(callbacks[first])
    assert done.status_code == 302
    assert done["Location"] == pages[first]
    # The first login gave the session a new key; the other tab's login is still in it.
    also = client.get(callbacks[second])
    assert also.status_code == 302
    assert also["Location"] == pages[second]
    assert client.get("/auth/session/").json()["authenticated"] is True
    assert client.session.get(STATES_KEY) == {}


def test_a_step_up_in_one_tab_does_not_apply_to_the_other(client, oidc_settings):
    plain = at_provider(start(client, "/account/"))
    # The other tab asks for a level the provider does not have: only that login is refused.
    strong = at_provider(start(client, "/payouts/", acr_values="urn:dev:loa:9"))
    refused = client.get(strong)
    assert refused.status_code == 403
    done = client.get(plain)
    assert done.status_code == 302
    assert done["Location"] == "/account/"


def test_many_logins_in_progress_all_stay_usable(client, oidc_settings):
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    authorize = [start(client, f"/page/{n}/") for n in range(8)]
    states = [parse_qs(urlsplit(url).query)["state"][0] for url in authorize]
    assert set(client.session[STATES_KEY]) == set(states)
    # The first tab, begun before the seven others, still finishes where it meant to.
    response = client.get(at_provider(authorize[0]))
    assert response["Location"] == "/page/0/"


def test_a_login_begun_before_the_upgrade_returns_to_the_sessions_one_page(client, oidc_settings):
    oidc_settings.OIDC_USE_PAR = "never"  # the state is read from the browser's URL
    authorize = start(client, "/ignored/")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    # What 0.1 stored: the entry without a page, and one page for the whole session.
    session = client.session
    del session[STATES_KEY][state]["next"]
    session[NEXT_KEY] = "/from-before/"
    session.save()
    response = client.get(at_provider(authorize))
    assert response.status_code == 302
    assert response["Location"] == "/from-before/"
    assert NEXT_KEY not in client.session
