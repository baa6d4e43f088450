"""End to end with DPoP-bound tokens from the real local provider: a login with OIDC_USE_DPOP
binds the token to the site's key, the proxy proves it to the sample API (which takes DPoP-bound
tokens only and wants its nonce), whether or not the upstream's settings say ``"dpop": true``,
and the same token replayed as a bearer token is refused."""

from typing import Any

import pytest
import requests

from accounts.protocol.signing_keys import load_signing_keys
from accounts.tokens.record import load_tokens
from proxy.forwarding import forget_pool
from proxy.retries import forget_nonces
from tests.accounts.tokens.test_refresh import session_of
from tests.client_keys import ec_pem
from tests.conftest import use_provider
from tests.proxy.conftest import login
from tests.proxy.servers import SampleAPI

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CSRF: dict[str, Any] = {"HTTP_X_CSRF": "1"}


@pytest.fixture(scope="module")
def strict_api(dpop_provider):
    api = SampleAPI(
        dpop_provider.issuer, SAMPLE_API_REQUIRE_DPOP="1", SAMPLE_API_DPOP_NONCE="1"
    ).start()
    yield api
    api.stop()


@pytest.fixture
def site(settings, dpop_provider, strict_api):
    use_provider(settings, dpop_provider, ec_pem())
    settings.PROXY_UPSTREAMS = {
        "strict": {"url": strict_api.url, "dpop": True},
        # The same API, its settings silent about DPoP: the token's type decides all the same.
        "unflagged": {"url": strict_api.url},
    }
    forget_pool()
    forget_nonces()
    yield settings
    forget_pool()
    forget_nonces()


def test_a_provider_bound_token_reaches_the_api_through_the_proxy_and_not_without_its_key(
    site, make_client, strict_api
):
    alice = login(make_client(), "alice")
    key = load_signing_keys(ec_pem(), "ES256")[0]
    response = alice.get("/api/proxy/strict/whoami", **CSRF)
    assert response.status_code == 200, response.content
    assert response.json()["dpop_jkt"] == key.kid
    record = load_tokens(session_of(alice))
    assert record is not None
    assert record.token_type.lower() == "dpop"
    replayed = requests.get(
        strict_api.url + "/whoami",
        headers={"Authorization": f"Bearer {record.access_token}"},
        timeout=5,
    )
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_token"


def test_an_upstream_without_the_flag_gets_the_bound_token_as_dpop_and_its_answer_passes(
    site, make_client, dpop_provider
):
    alice = login(make_client(), "alice")
    key = load_signing_keys(ec_pem(), "ES256")[0]
    dpop_provider.reset_stats()
    for _ in range(2):
        response = alice.get("/api/proxy/unflagged/whoami", **CSRF)
        assert response.status_code == 200, response.content
        assert response.json()["dpop_jkt"] == key.kid
    note = alice.post(
        "/api/proxy/unflagged/notes", {"text": "tea"}, content_type="application/json", **CSRF
    )
    assert note.status_code == 201, note.content
    # Nothing was refused, so nothing was renewed: no refresh storm.
    assert dpop_provider.stats()["refresh_grants"] == 0
