"""Faults with the real parts: Redis stopped while users browse, the provider stopped, and the
site recovering by itself when they return. gunicorn, 2 workers, DEBUG off."""

import pytest
import requests

from tests.ops.redis_process import RedisProcess
from tests.stack import Site, free_port, log_in_with_requests, provider_behind_switch, wait_until

pytestmark = pytest.mark.integration

API = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def stack():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider, switch = provider_behind_switch(
        redirect_uris=[f"{url}/auth/callback/"], post_logout_uris=[f"{url}/"]
    )
    store = RedisProcess().start()
    site = Site(provider, port, REDIS_URL=store.url).start()
    yield site, store, provider, switch
    site.stop()
    store.stop()
    switch.off()
    provider.stop()


def test_redis_stopped_gives_clear_503s_and_the_site_recovers_alone(stack):
    site, store, _, _ = stack
    alice = log_in_with_requests(site.url)
    assert alice.get(f"{site.url}/auth/session/", headers=API).json()["authenticated"]

    store.stop()
    try:
        page = alice.get(f"{site.url}/account/", timeout=10)
        assert page.status_code == 503
        assert "Sessions are unavailable" in page.text
        assert "Traceback" not in page.text
        api = alice.get(f"{site.url}/auth/session/", headers=API, timeout=10)
        assert api.status_code == 503
        assert api.json()["error"] == "session_store_unavailable"
        assert api.headers["Retry-After"]
        ready = requests.get(f"{site.url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert "redis" in ready.json()["failing"]
        assert requests.get(f"{site.url}/healthz", timeout=10).status_code == 200
    finally:
        store.start()

    # No restart of the site: the next requests find Redis again, and Alice is still logged in.
    wait_until(
        lambda: requests.get(f"{site.url}/readyz", timeout=5).status_code == 200, 15, "readyz"
    )
    again = alice.get(f"{site.url}/auth/session/", headers=API)
    assert again.status_code == 200
    assert again.json()["user"]["sub"] == "alice"
    assert alice.get(f"{site.url}/account/").status_code == 200


def test_provider_stopped_login_says_so_and_sessions_keep_working(stack):
    site, _, _, switch = stack
    alice = log_in_with_requests(site.url)
    switch.off()
    try:
        newcomer = requests.get(f"{site.url}/auth/login/", allow_redirects=False, timeout=15)
        assert newcomer.status_code == 502
        assert "The identity provider is unavailable" in newcomer.text
        # Alice's token is still valid: her pages work while the provider is away.
        page = alice.get(f"{site.url}/account/")
        assert page.status_code == 200
        assert 'data-testid="token-notice"' not in page.text
    finally:
        switch.on()
    assert requests.get(f"{site.url}/auth/login/", allow_redirects=False).status_code == 302
