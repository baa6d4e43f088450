"""``/auth/jwks.json``: the public halves of the client assertion keys, for providers that fetch
them."""

import jwt

from accounts.oidc.client_keys import client_assertion_keys
from accounts.protocol.client_assertion import client_assertion
from tests.client_keys import ec_pem, rsa_pem


def test_every_client_key_is_published_with_only_its_public_members(client, settings):
    settings.OIDC_CLIENT_SIGNING_KEYS = rsa_pem() + rsa_pem("next")
    settings.OIDC_DPOP_KEYS = ec_pem()
    response = client.get("/auth/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert len(keys) == 2  # the DPoP key is not listed: its proofs carry it
    for key in keys:
        assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
        assert (key["alg"], key["use"]) == ("RS256", "sig")
    # A provider verifies our assertion with what it fetched.
    signer = client_assertion_keys()[0]
    assertion = client_assertion(signer, client_id="bff", audience="https://op.test", now=0)
    published = next(k for k in keys if k["kid"] == jwt.get_unverified_header(assertion)["kid"])
    claims = jwt.decode(
        assertion,
        jwt.PyJWK(published).key,
        algorithms=["RS256"],
        audience="https://op.test",
        options={"verify_exp": False},
    )
    assert claims["iss"] == "bff"


def test_without_keys_the_set_is_empty_and_still_valid(client):
    response = client.get("/auth/jwks.json")
    assert response.status_code == 200
    assert response.json() == {"keys": []}


def test_unusable_keys_are_a_503_not_a_500(client, settings):
    settings.OIDC_CLIENT_SIGNING_KEYS = ec_pem()  # an EC key cannot sign RS256
    response = client.get("/auth/jwks.json")
    assert response.status_code == 503
    assert response.json() == {"error": "keys_unavailable"}


def test_only_get_and_head(client):
    assert client.post("/auth/jwks.json").status_code == 405
    assert client.head("/auth/jwks.json").status_code == 200
