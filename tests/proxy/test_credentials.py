"""proxy.credentials: the token's own type names the scheme it goes upstream in, whatever the
upstream's ``"dpop"`` flag says; the flag only refuses to send a bearer token."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from accounts.api import AccessCredential
from accounts.protocol.dpop import is_dpop_bound
from accounts.protocol.dpop_verification import bound_thumbprint, check_proof
from accounts.protocol.signing_keys import signing_key
from proxy.credentials import check_token_fits, credential_headers, replace_credentials
from proxy.exceptions import UpstreamNeedsBoundToken
from proxy.responses import error_payload
from proxy.upstreams import parse_upstream
from tests.client_keys import pem_of

PLAIN = parse_upstream("notes", "https://api.example.com/v1")
DPOP_ONLY = parse_upstream("bank", {"url": "https://bank.example.com", "dpop": True})


@pytest.fixture
def site_key(settings):
    key = signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")
    settings.OIDC_DPOP_KEYS = pem_of(key.private_key)
    return key


def bound_to(key):
    """A JWT access token bound (``cnf.jkt``) to ``key``, as a provider doing DPoP issues one."""
    claims = {"sub": "alice", "exp": int(time.time()) + 300, "cnf": {"jkt": key.kid}}
    return jwt.encode(claims, "issuer-secret-of-at-least-32-bytes", algorithm="HS256")


def verified(headers, method, url):
    """The proof checked as an RFC 9449 resource server checks it, and bound as the token says."""
    token = headers["Authorization"].removeprefix("DPoP ")
    proof = check_proof(
        [headers["DPoP"]], method=method, url=url, access_token=token, now=time.time()
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert proof.thumbprint == bound_thumbprint(claims)
    return proof


@pytest.mark.parametrize("upstream", [PLAIN, DPOP_ONLY])
@pytest.mark.parametrize("token_type", ["DPoP", "dpop", "DPOP"])
def test_a_bound_token_goes_as_dpop_with_a_proof_to_every_upstream(site_key, upstream, token_type):
    token = AccessCredential(bound_to(site_key), token_type)
    headers = credential_headers(upstream, "POST", "/v1/notes?page=2", token, None)
    assert set(headers) == {"Authorization", "DPoP"}
    assert headers["Authorization"] == f"DPoP {token.token}"
    proof = verified(headers, "POST", f"{upstream.origin}/v1/notes")
    assert proof.thumbprint == site_key.kid


def test_the_proof_carries_the_upstreams_nonce(site_key):
    token = AccessCredential(bound_to(site_key), "DPoP")
    headers = credential_headers(PLAIN, "GET", "/v1/x", token, "n-1")
    assert jwt.decode(headers["DPoP"], options={"verify_signature": False})["nonce"] == "n-1"


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
def test_a_bearer_token_goes_as_bearer_without_a_proof(token_type):
    headers = credential_headers(PLAIN, "GET", "/v1/x", AccessCredential("t", token_type), "n-1")
    assert headers == {"Authorization": "Bearer t"}


def test_a_bearer_token_is_not_sent_to_an_upstream_that_takes_bound_ones_only():
    with pytest.raises(UpstreamNeedsBoundToken) as raised:
        credential_headers(DPOP_ONLY, "GET", "/x", AccessCredential("t"), None)
    status, _, body = error_payload(raised.value, method="GET", path="/api/proxy/bank/x")
    assert status == 503
    assert b'"error": "dpop_unavailable"' in body
    assert b'"message": "bank takes DPoP-bound tokens only' in body
    assert b'"t"' not in body  # never the token
    check_token_fits(PLAIN, AccessCredential("t"))  # elsewhere it goes as it is


def test_no_token_no_credentials():
    assert credential_headers(DPOP_ONLY, "GET", "/x", None, "n-1") == {}


def test_a_retry_replaces_every_credential_header(site_key):
    headers = {"Accept": "*/*", **credential_headers(PLAIN, "GET", "/v1/x", bound(site_key), None)}
    # The renewal brought a bearer token: no proof of the old one may stay behind.
    replace_credentials(
        headers, credential_headers(PLAIN, "GET", "/v1/x", AccessCredential("b"), None)
    )
    assert headers == {"Accept": "*/*", "Authorization": "Bearer b"}


def bound(key):
    return AccessCredential(bound_to(key), "DPoP")


@pytest.mark.parametrize(
    ("token_type", "expected"),
    [("DPoP", True), ("dpop", True), (" DPOP ", True), ("Bearer", False), ("", False)],
)
def test_which_token_types_are_dpop_bound(token_type, expected):
    assert is_dpop_bound(token_type) is expected
    assert AccessCredential("t", token_type).dpop_bound is expected


def test_a_credential_never_shows_its_token():
    shown = repr(AccessCredential("secret-token-value", "DPoP"))
    assert "secret-token-value" not in shown
    assert "DPoP" in shown
