import jwt

from accounts.protocol.client_assertion import (
    ASSERTION_LIFETIME,
    CLIENT_ASSERTION_TYPE,
    assertion_form,
    client_assertion,
)
from accounts.protocol.signing_keys import load_signing_keys
from tests.client_keys import rsa_pem


def test_an_assertion_names_the_client_and_the_provider_and_expires_within_a_minute():
    (key,) = load_signing_keys(rsa_pem(), "PS256")
    token = client_assertion(key, client_id="bff", audience="https://op.test", now=1_700_000_000.9)
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("PS256", key.kid)
    claims = jwt.decode(
        token,
        jwt.PyJWK(dict(key.public_jwk)).key,
        algorithms=["PS256"],
        audience="https://op.test",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "bff"
    assert claims["iat"] == 1_700_000_000
    assert claims["exp"] - claims["iat"] == ASSERTION_LIFETIME == 60
    assert len(claims["jti"]) >= 32


def test_no_two_assertions_share_a_jti():
    (key,) = load_signing_keys(rsa_pem(), "RS256")
    jtis = {
        jwt.decode(
            client_assertion(key, client_id="bff", audience="https://op.test", now=1.0),
            options={"verify_signature": False},
        )["jti"]
        for _ in range(20)
    }
    assert len(jtis) == 20


def test_the_form_carries_the_assertion_its_type_and_the_client_id():
    assert assertion_form("a.b.c", "bff") == {
        "client_id": "bff",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "a.b.c",
    }
    assert CLIENT_ASSERTION_TYPE.endswith("jwt-bearer")
