"""The token's own type names the scheme it goes upstream in (RFC 9449 §7.1): a DPoP-bound token
goes as ``Authorization: DPoP`` with a fresh proof of this site's key to every upstream, through
the WSGI view and the ASGI edge alike; ``"dpop": true`` only keeps bearer tokens away. Against
the echo server (which shows what arrived) and the sample API (which checks it, as your API
would).

The site's session holds a real login at the local provider, which binds its tokens to the
site's first DPoP key; where a test needs a token bound to another key, or a bearer token, the
session's access token is replaced by one signed by a test issuer the sample API trusts.
"""

import dataclasses
import json
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings as django_settings
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from accounts.protocol.dpop import proof
from accounts.protocol.dpop_verification import check_proof
from accounts.protocol.signing_keys import signing_key
from accounts.tokens.record import load_tokens, store_tokens
from tests.accounts.resource_server.keys import KeyServer
from tests.accounts.tokens.test_refresh import session_of
from tests.client_keys import pem_of
from tests.conftest import use_provider
from tests.proxy.conftest import login
from tests.proxy.servers import SampleAPI
from tests.stack import API_AUDIENCE
from tests.token_factory import SigningKey

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CSRF: dict[str, Any] = {"HTTP_X_CSRF": "1"}


@pytest.fixture(scope="module")
def site_keys():
    """The site's DPoP keys, two as during a rotation: the first binds new tokens."""
    return [signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256") for _ in range(2)]


@pytest.fixture(scope="module")
def dpop_issuer():
    """An issuer the DPoP sample API trusts, whose tokens the tests sign."""
    server = KeyServer(SigningKey("dpop-issuer"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dpop_api(dpop_issuer):
    """The sample API taking DPoP-bound tokens only, and wanting its nonce in every proof."""
    api = SampleAPI(
        dpop_issuer.issuer, SAMPLE_API_REQUIRE_DPOP="1", SAMPLE_API_DPOP_NONCE="1"
    ).start()
    yield api
    api.stop()


@pytest.fixture
def dpop_settings(proxy_settings, echo, dpop_api, site_keys, dpop_provider):
    use_provider(proxy_settings, dpop_provider, "\n".join(pem_of(k.private_key) for k in site_keys))
    proxy_settings.PROXY_UPSTREAMS = {
        **proxy_settings.PROXY_UPSTREAMS,
        "dpop-echo": {"url": echo.url + "/dpop", "dpop": True},
        "dpop-api": {"url": dpop_api.url, "dpop": True},
        # The same API without the flag: a bound token goes to it as DPoP all the same.
        "plain-api": {"url": dpop_api.url},
        "dpop-live": {"url": dpop_api.live_url, "dpop": True, "websocket": True},
        "plain-live": {"url": dpop_api.live_url, "websocket": True},
    }
    return proxy_settings


@pytest.fixture
def alice(dpop_settings, make_client):
    return login(make_client(), "alice")


def api_token(issuer, jkt, **claims):
    now = int(time.time())
    base = {
        "iss": issuer.issuer,
        "sub": "alice",
        "aud": API_AUDIENCE,
        "exp": now + 300,
        "iat": now,
        "scope": "openid read:notes",
        "cnf": {"jkt": jkt},
    }
    return issuer.keys[0].sign({**base, **claims}, headers={"typ": "at+jwt"})


def bind(client, token, token_type="DPoP"):  # noqa: S107 (a token type)
    """Make ``token`` the session's access token, of ``token_type``: "DPoP" as a login with DPoP
    would have it, "Bearer" as from a provider that did not bind it."""
    session = session_of(client)
    record = load_tokens(session)
    assert record is not None
    store_tokens(
        session,
        dataclasses.replace(
            record,
            access_token=token,
            token_type=token_type,
            access_token_expires_at=time.time() + 300,
        ),
    )


def checked(arrival, method, url):
    """The arrival's proof, verified as a resource server would (RFC 9449 §4.3)."""
    return check_proof(
        [arrival.header("DPoP")],
        method=method,
        url=url,
        access_token=arrival.token,
        now=time.time(),
    )


def test_the_token_goes_as_dpop_with_a_proof_of_the_key_it_is_bound_to(alice, echo, site_keys):
    second = site_keys[1]
    token = api_token_for_echo(second.kid)
    bind(alice, token)
    response = alice.post(
        "/api/proxy/dpop-echo/items/4?x=1",
        b'{"a": 1}',
        content_type="application/json",
        HTTP_DPOP="forged.by.browser",
        **CSRF,
    )
    assert response.status_code == 200
    [arrival] = echo.arrivals
    assert arrival.header("Authorization") == f"DPoP {token}"
    proved = checked(arrival, "POST", f"{echo.url}/dpop/items/4")
    # The key the token is bound to signs, even when it is not the first any more.
    assert proved.thumbprint == second.kid
    assert arrival.dpop_claims["htu"] == f"{echo.url}/dpop/items/4"
    assert arrival.body == b'{"a": 1}'


def test_every_call_gets_a_new_proof(alice, echo):
    alice.get("/api/proxy/dpop-echo/x", **CSRF)
    alice.get("/api/proxy/dpop-echo/x", **CSRF)
    first, second = (a.dpop_claims["jti"] for a in echo.arrivals)
    assert first != second


def test_a_token_that_names_no_key_is_signed_with_the_first(alice, echo, site_keys):
    bind(alice, "an-opaque-dpop-bound-token")  # no cnf.jkt to read
    alice.get("/api/proxy/dpop-echo/x", **CSRF)
    [arrival] = echo.arrivals
    assert arrival.header("Authorization") == "DPoP an-opaque-dpop-bound-token"
    assert checked(arrival, "GET", f"{echo.url}/dpop/x").thumbprint == site_keys[0].kid


def test_a_bound_token_goes_as_dpop_to_an_upstream_without_the_flag(alice, echo, site_keys):
    response = alice.get("/api/proxy/echo/items?x=1", HTTP_DPOP="forged.by.browser", **CSRF)
    assert response.status_code == 200
    [arrival] = echo.arrivals
    # The provider's own token, bound to the key the login proved.
    claims = jwt.decode(arrival.token, options={"verify_signature": False})
    assert claims["cnf"]["jkt"] == site_keys[0].kid
    assert arrival.header("Authorization") == f"DPoP {arrival.token}"
    assert checked(arrival, "GET", f"{echo.url}/base/items").thumbprint == claims["cnf"]["jkt"]


def test_a_bearer_token_goes_as_bearer_and_never_with_the_browsers_proof(alice, echo):
    bind(alice, "an-unbound-token", token_type="Bearer")
    alice.get("/api/proxy/echo/x", HTTP_DPOP="forged.by.browser", **CSRF)
    [arrival] = echo.arrivals
    assert arrival.header("Authorization") == "Bearer an-unbound-token"
    assert arrival.header("DPoP") is None


def test_a_bearer_token_is_never_sent_to_an_upstream_that_takes_bound_ones_only(
    alice, echo, dpop_provider
):
    bind(alice, "an-unbound-token", token_type="Bearer")
    dpop_provider.reset_stats()
    response = alice.get("/api/proxy/dpop-echo/x", **CSRF)
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "dpop_unavailable"
    assert body["message"].startswith("dpop-echo takes DPoP-bound tokens only")
    assert "an-unbound-token" not in response.content.decode()
    assert echo.arrivals == []
    assert dpop_provider.stats()["refresh_grants"] == 0
    # Nobody was logged out: the session goes on, and its token reaches other upstreams.
    assert alice.get("/api/proxy/echo/x", **CSRF).status_code == 200
    assert echo.arrivals[0].header("Authorization") == "Bearer an-unbound-token"


def test_a_nonce_challenge_is_answered_once_and_the_nonce_kept(alice, echo, dpop_provider):
    dpop_provider.reset_stats()
    response = alice.post(
        "/api/proxy/dpop-echo/dpop-nonce", b"{}", content_type="application/json", **CSRF
    )
    assert response.status_code == 200
    assert "DPoP-Nonce" not in response
    first, retry = echo.arrivals
    assert "nonce" not in first.dpop_claims
    assert retry.dpop_claims["nonce"] == "nonce-1"
    assert retry.dpop_claims["jti"] != first.dpop_claims["jti"]
    assert retry.token == first.token
    assert retry.body == b"{}"
    checked(retry, "POST", f"{echo.url}/dpop/dpop-nonce")
    assert dpop_provider.stats()["refresh_grants"] == 0
    # The nonce is kept: the next call carries it and meets no challenge.
    assert alice.get("/api/proxy/dpop-echo/dpop-nonce", **CSRF).status_code == 200
    assert len(echo.arrivals) == 3
    assert echo.arrivals[2].dpop_claims["nonce"] == "nonce-1"


def test_a_stored_token_no_proof_can_name_is_renewed_not_a_500(alice, echo, dpop_provider):
    # Kept by an earlier version, which took whatever a provider sent: the proof hashes the
    # token's ASCII, and every call to a DPoP upstream with it was a 500.
    session = session_of(alice)
    record = load_tokens(session)
    assert record is not None
    stored = dataclasses.replace(
        record, access_token="tök", access_token_expires_at=time.time() + 300
    )
    store_tokens(session, stored)
    dpop_provider.reset_stats()
    response = alice.get("/api/proxy/dpop-echo/x", **CSRF)
    assert response.status_code == 200
    [arrival] = echo.arrivals
    renewed = load_tokens(session_of(alice))
    assert renewed is not None
    assert arrival.token == renewed.access_token != "tök"
    assert dpop_provider.stats()["refresh_grants"] == 1


def test_a_nonce_loop_is_a_502_after_one_retry_and_no_logout(alice, echo, dpop_provider):
    dpop_provider.reset_stats()
    response = alice.get("/api/proxy/dpop-echo/dpop-nonce-loop", **CSRF)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_dpop_nonce_loop"
    assert [a.dpop_claims.get("nonce") for a in echo.arrivals] == [None, "loop-1"]
    assert dpop_provider.stats()["refresh_grants"] == 0
    assert alice.get("/api/proxy/dpop-echo/x", **CSRF).status_code == 200


def test_a_nonce_challenge_to_a_streamed_body_asks_for_the_call_again(alice, echo):
    body = b"x" * (100 * 1024)  # over the replay buffer: it streams and cannot be sent twice
    path = "/api/proxy/dpop-echo/dpop-nonce"
    response = alice.post(path, body, content_type="text/plain", **CSRF)
    assert response.status_code == 503
    assert response.json()["error"] == "upstream_dpop_nonce"
    assert len(echo.arrivals) == 1
    again = alice.post(path, body, content_type="text/plain", **CSRF)
    assert again.status_code == 200
    assert echo.arrivals[1].body == body


def test_an_upstreams_nonce_is_kept_for_the_next_call_and_never_shown(alice, echo):
    response = alice.get("/api/proxy/dpop-echo/headers", {"h": "DPoP-Nonce: n-7"}, **CSRF)
    assert response.status_code == 200
    assert "DPoP-Nonce" not in response
    alice.get("/api/proxy/dpop-echo/x", **CSRF)
    assert echo.arrivals[-1].dpop_claims["nonce"] == "n-7"


def test_a_dpop_invalid_token_challenge_renews_the_token_once(alice, echo, dpop_provider):
    alice.get("/api/proxy/dpop-echo/first", **CSRF)
    old = echo.arrivals[0].token
    echo.state.rejected_tokens.add(old)
    dpop_provider.reset_stats()
    response = alice.get("/api/proxy/dpop-echo/again", **CSRF)
    assert response.status_code == 200
    first, retry = echo.arrivals[1:]
    assert first.token == old
    assert retry.token != old
    # The retry's proof is made for the renewed token (its ath), bound again by the provider.
    checked(retry, "GET", f"{echo.url}/dpop/again")
    assert retry.header("Authorization") == f"DPoP {retry.token}"
    assert dpop_provider.stats()["refresh_grants"] == 1


def test_a_refused_proof_is_a_502_not_the_upstreams_401(alice, echo, dpop_provider):
    dpop_provider.reset_stats()
    response = alice.get("/api/proxy/dpop-echo/dpop-refused", **CSRF)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_refused_dpop_proof"
    assert len(echo.arrivals) == 1
    assert dpop_provider.stats()["refresh_grants"] == 0


def test_without_a_dpop_key_the_call_is_503_and_never_sent(alice, echo, settings):
    settings.OIDC_DPOP_KEYS = ""
    response = alice.get("/api/proxy/dpop-echo/x", **CSRF)
    assert response.status_code == 503
    assert response.json()["error"] == "dpop_not_configured"
    assert echo.arrivals == []


# --- the sample API checks what the proxy sends -------------------------------------------------


@pytest.mark.parametrize("upstream", ["dpop-api", "plain-api"])
def test_the_sample_api_takes_the_bound_token_through_the_proxy(
    alice, dpop_issuer, site_keys, caplog, upstream
):
    token = api_token(dpop_issuer, site_keys[0].kid)
    bind(alice, token)
    # The API wants its nonce: the first call meets the challenge and is sent once more.
    response = alice.get(f"/api/proxy/{upstream}/whoami", **CSRF)
    assert response.status_code == 200, response.content
    assert f"{upstream} asked for a new DPoP nonce" in caplog.text
    assert response.json()["dpop_jkt"] == site_keys[0].kid
    assert "DPoP-Nonce" not in response
    note = alice.post(
        f"/api/proxy/{upstream}/notes", {"text": "milk"}, content_type="application/json", **CSRF
    )
    assert note.status_code == 201, note.content
    assert alice.get(f"/api/proxy/{upstream}/notes", **CSRF).json()["notes"][-1]["text"] == "milk"


def test_the_sample_api_refuses_the_token_stolen(dpop_api, dpop_issuer, site_keys):
    holder = site_keys[0]
    token = api_token(dpop_issuer, holder.kid)
    url = dpop_api.url + "/whoami"

    def call(authorization, dpop=None):
        headers = {"Authorization": authorization}
        if dpop is not None:
            headers["DPoP"] = dpop
        return requests.get(url, headers=headers, timeout=5)

    as_bearer = call(f"Bearer {token}")
    assert as_bearer.status_code == 401
    assert as_bearer.json()["error"] == "invalid_token"
    # Any client can have a nonce: the API hands one out with its challenge.
    without_nonce = proof(holder, method="GET", url=url, now=time.time(), access_token=token)
    challenge = call(f"DPoP {token}", without_nonce)
    assert challenge.status_code == 401
    assert challenge.json()["error"] == "use_dpop_nonce"
    nonce = challenge.headers["DPoP-Nonce"]
    thief = signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")
    stolen = call(
        f"DPoP {token}",
        proof(thief, method="GET", url=url, now=time.time(), access_token=token, nonce=nonce),
    )
    assert stolen.status_code == 401
    assert stolen.json()["error"] == "invalid_token"
    good = proof(holder, method="GET", url=url, now=time.time(), access_token=token, nonce=nonce)
    assert call(f"DPoP {token}", good).status_code == 200
    replayed = call(f"DPoP {token}", good)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_dpop_proof"
    assert replayed.headers["WWW-Authenticate"].startswith('DPoP realm="api"')


def open_socket(live_edge, client, upstream):
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return connect(
        f"ws://127.0.0.1:{live_edge.port}/api/proxy/{upstream}/echo",
        origin=Origin("http://testserver"),
        additional_headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}"},
        open_timeout=10,
    )


@pytest.mark.parametrize("upstream", ["dpop-live", "plain-live"])
def test_a_websocket_with_a_bound_token_proves_its_handshake(
    dpop_settings, live_edge, dpop_issuer, site_keys, caplog, upstream
):
    client = login(Client())
    bind(client, api_token(dpop_issuer, site_keys[0].kid))
    with open_socket(live_edge, client, upstream) as ws:
        ws.send("!whoami")
        assert json.loads(ws.recv(5))["sub"] == "alice"
    # The live API wants its nonce too: the handshake met the challenge and was made again.
    assert f"{upstream} asked for a new DPoP nonce" in caplog.text


def test_a_websocket_with_a_bearer_token_to_a_dpop_upstream_is_refused_unsent(
    dpop_settings, live_edge, dpop_provider
):
    client = login(Client())
    bind(client, "an-unbound-token", token_type="Bearer")
    dpop_provider.reset_stats()
    with pytest.raises(InvalidStatus) as refused:
        open_socket(live_edge, client, "dpop-live")
    assert refused.value.response.status_code == 503
    assert json.loads(refused.value.response.body)["error"] == "dpop_unavailable"
    assert dpop_provider.stats()["refresh_grants"] == 0


def api_token_for_echo(jkt):
    """A JWT bound to ``jkt``; the echo server reads it, checks nothing."""
    now = int(time.time())
    claims = {"sub": "alice", "exp": now + 300, "iat": now, "cnf": {"jkt": jkt}}
    return SigningKey("echo-issuer").sign(claims)
