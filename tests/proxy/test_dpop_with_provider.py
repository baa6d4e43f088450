"""End to end with DPoP-bound tokens from the real local provider: a login with OIDC_USE_DPOP
binds the token to the site's key, the proxy proves it to the sample API (which takes DPoP-bound
tokens only and wants its nonce), and the same token replayed as a bearer token is refused."""

from typing import Any

import pytest
import requests

from accounts.protocol.signing_keys import load_signing_keys
from accounts.tokens.record import load_tokens
from proxy.forwarding import forget_pool
from proxy.retries import forget_nonces
from tests.accounts.tokens.test_refresh import session_of
from tests.client_keys import ec_pem
from tests.proxy.conftest import CALLBACK, login
from tests.proxy.servers import SampleAPI
from tests.stack import Provider

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CSRF: dict[str, Any] = {"HTTP_X_CSRF": "1"}


@pytest.fixture(scope="module")
def dpop_provider():
    provider = Provider(
        redirect_uris=[CALLBACK],
        post_logout_uris=["http://testserver/"],
        DPOP_BOUND_ACCESS_TOKENS="1",
        DPOP_REQUIRE_NONCE="1",
    ).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def strict_api(dpop_provider):
    api = SampleAPI(
        dpop_provider.issuer, SAMPLE_API_REQUIRE_DPOP="1", SAMPLE_API_DPOP_NONCE="1"
    ).start()
    yield api
    api.stop()


@pytest.fixture
def site(settings, dpop_provider, strict_api):
    settings.OIDC_ISSUER = dpop_provider.issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = dpop_provider.client_id
    settings.OIDC_CLIENT_SECRET = dpop_provider.client_secret
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = ec_pem()
    settings.PROXY_UPSTREAMS = {"strict": {"url": strict_api.url, "dpop": True}}
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
