"""Refresh under real concurrency: gunicorn with 2 worker processes, the local provider issuing
access tokens that live 5 s, rotating refresh tokens whose reuse revokes the grant, and answering
refreshes slowly (300 ms), as a distant provider under load does; otherwise the race window
closes on loopback before the other requests look."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.stack import Provider, Site, free_port, log_in_with_requests, provider_behind_switch

pytestmark = pytest.mark.integration

TOKEN_TTL = 5


@pytest.fixture(scope="module")
def ports():
    return {
        "locked": free_port(),
        "unlocked": free_port(),
        "switched": free_port(),
        "default": free_port(),
    }


@pytest.fixture(scope="module")
def slow_provider(ports):
    sites = [f"http://127.0.0.1:{port}" for port in ports.values()]
    p = Provider(
        redirect_uris=[f"{s}/auth/callback/" for s in sites],
        post_logout_uris=[f"{s}/" for s in sites],
        ACCESS_TOKEN_TTL=str(TOKEN_TTL),
        REFRESH_DELAY_MS="300",
    ).start()
    yield p
    p.stop()


def site(provider, port, **env):
    # Tokens live 5 s here, so the refresh skew (60 s by default) must be shorter.
    return Site(
        provider,
        port,
        DJANGO_SETTINGS_MODULE="tests.site_settings",
        policy={"refresh_skew": "1s"},
        **env,
    ).start()


@pytest.fixture(scope="module")
def locked_site(slow_provider, ports):
    s = site(slow_provider, ports["locked"])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def default_policy_site(slow_provider, ports):
    # The shipped policy: a 60 s refresh skew, longer than these 5 s tokens live.
    s = Site(slow_provider, ports["default"], DJANGO_SETTINGS_MODULE="tests.site_settings").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def unlocked_site(slow_provider, ports):
    s = site(slow_provider, ports["unlocked"], TEST_REFRESH_LOCK="0")
    yield s
    s.stop()


def wait_for_expiry():
    time.sleep(TOKEN_TTL + 1)


def burst(site_url, http, n=50):
    """n concurrent API requests with the same session cookie; returns their responses."""
    cookies = http.cookies.get_dict()

    def one(_):
        return requests.get(
            f"{site_url}/auth/session/",
            cookies=cookies,
            headers={"Accept": "application/json"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def worker_pids(site):
    return set(re.findall(r"^<(\d+)> GET /auth/session/ 200", site.access_log.read_text(), re.M))


def test_fifty_concurrent_requests_after_expiry_refresh_exactly_once(locked_site, slow_provider):
    http = log_in_with_requests(locked_site.url)
    slow_provider.reset_stats()
    wait_for_expiry()

    responses = burst(locked_site.url, http)

    assert [r.status_code for r in responses] == [200] * 50
    assert all(r.json()["authenticated"] for r in responses)
    assert slow_provider.stats() == {
        "refresh_grants": 1,
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }
    assert len(worker_pids(locked_site)) == 2, "both worker processes should have served"

    # The grant survived: the next expiry renews as well.
    wait_for_expiry()
    again = http.get(f"{locked_site.url}/auth/session/", headers={"Accept": "application/json"})
    assert again.status_code == 200
    assert again.json()["authenticated"] is True
    assert slow_provider.stats()["refresh_grants"] == 2
    assert slow_provider.stats()["refresh_failures"] == 0


def test_without_the_lock_the_same_burst_loses_the_grant(unlocked_site, slow_provider):
    """The control: shows the test above can fail, and why the lock exists."""
    http = log_in_with_requests(unlocked_site.url)
    slow_provider.reset_stats()
    wait_for_expiry()

    responses = burst(unlocked_site.url, http)

    stats = slow_provider.stats()
    assert stats["refresh_grants"] > 1
    assert stats["refresh_failures"] >= 1  # a consumed refresh token was presented again
    assert any(r.status_code == 401 for r in responses)  # and users were logged out
    after = http.get(f"{unlocked_site.url}/auth/session/", headers={"Accept": "application/json"})
    assert after.json().get("authenticated") is not True


@pytest.fixture(scope="module")
def switched(ports):
    url = f"http://127.0.0.1:{ports['switched']}"
    provider, switch = provider_behind_switch(
        redirect_uris=[f"{url}/auth/callback/"],
        post_logout_uris=[f"{url}/"],
        ACCESS_TOKEN_TTL=str(TOKEN_TTL),
    )
    s = site(provider, ports["switched"], TEST_OIDC_TIMEOUT="1")
    yield s, provider, switch
    s.stop()
    switch.off()
    provider.stop()


def test_provider_down_keeps_the_session_and_recovers(switched, redis_client):
    site_, provider, switch = switched
    http = log_in_with_requests(site_.url)
    provider.reset_stats()
    wait_for_expiry()
    switch.off()
    try:
        api = http.get(f"{site_.url}/auth/session/", headers={"Accept": "application/json"})
        assert api.status_code == 503, api.text
        assert api.json()["error"] == "token_unavailable"
        assert int(api.headers["Retry-After"]) > 0
        page = http.get(f"{site_.url}/account/")
        assert page.status_code == 200
        assert 'data-testid="token-notice"' in page.text
        assert redis_client.keys("*:tokens")  # the session was kept
    finally:
        switch.on()
    api = http.get(f"{site_.url}/auth/session/", headers={"Accept": "application/json"})
    assert api.status_code == 200
    assert api.json()["authenticated"] is True
    assert provider.stats()["refresh_grants"] == 1
    assert provider.stats()["refresh_failures"] == 0


def test_a_skew_longer_than_the_token_lifetime_still_renews_once_per_expiry(
    default_policy_site, slow_provider
):
    http = log_in_with_requests(default_policy_site.url)
    slow_provider.reset_stats()
    # A token just obtained is never renewed again, although it expires within the skew.
    assert [r.status_code for r in burst(default_policy_site.url, http, n=20)] == [200] * 20
    assert slow_provider.stats()["refresh_grants"] == 0
    # Past half its life it is renewed, once for the whole burst; the new one is not, at once.
    for expiry in (1, 2):
        time.sleep(TOKEN_TTL / 2 + 0.5)
        assert [r.status_code for r in burst(default_policy_site.url, http, n=20)] == [200] * 20
        assert [r.status_code for r in burst(default_policy_site.url, http, n=20)] == [200] * 20
        assert slow_provider.stats()["refresh_grants"] == expiry
    assert slow_provider.stats()["refresh_failures"] == 0
