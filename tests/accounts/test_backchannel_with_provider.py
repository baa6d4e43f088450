"""Back-channel logout driven by the real local provider: a user logged in from two browsers
logs out at the provider, and the provider's back-channel calls end the sessions here."""

import pytest

from tests.stack import (
    Provider,
    Site,
    confirm_logout_at_provider,
    free_port,
    log_in_with_requests,
    wait_until,
)

pytestmark = pytest.mark.integration


def authenticated(site, http):
    answer = http.get(f"{site.url}/auth/session/", headers={"Accept": "application/json"})
    return answer.json()["authenticated"]


def log_out_at_provider(provider, http):
    """The user logs out on the provider's own page (not through this site)."""
    confirm_logout_at_provider(http, provider.discovery()["end_session_endpoint"])


@pytest.fixture(scope="module")
def sub_only_stack():
    """A provider that registers the client without backchannel_logout_session_required: its
    logout tokens carry only sub, so every session of the user ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = Provider.for_site(url, CLIENT_BACKCHANNEL_SESSION_REQUIRED="0").start()
    site = Site(provider, port).start()
    yield provider, site
    site.stop()
    provider.stop()


def test_logout_at_the_provider_ends_both_browsers_sessions(sub_only_stack):
    provider, site = sub_only_stack
    laptop, phone = log_in_with_requests(site.url), log_in_with_requests(site.url)
    assert authenticated(site, laptop)
    assert authenticated(site, phone)

    log_out_at_provider(provider, laptop)

    wait_until(lambda: not authenticated(site, phone), 10, "the back-channel logout")
    assert not authenticated(site, laptop)
    assert "back-channel logout: 2 session(s) ended" in site.process.log()


def test_with_sid_only_the_browser_that_logged_out_loses_its_session(site, provider):
    laptop, phone = log_in_with_requests(site.url), log_in_with_requests(site.url)

    log_out_at_provider(provider, laptop)

    wait_until(lambda: not authenticated(site, laptop), 10, "the back-channel logout")
    assert authenticated(site, phone)
