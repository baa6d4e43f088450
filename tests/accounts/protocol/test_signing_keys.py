import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.protocol.signing_keys import KeyUnusable, jwk_thumbprint, load_signing_keys
from tests.client_keys import pem_of


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
            "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v"
            "-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q"
            "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8a"
            "wapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("algorithm", ["RS256", "PS256"])
def test_rsa_keys_sign_what_their_published_half_verifies(
    rsa_key: rsa.RSAPrivateKey, algorithm: str
) -> None:
    (key,) = load_signing_keys(pem_of(rsa_key), algorithm)
    token = key.sign({"sub": "client"})
    header = jwt.get_unverified_header(token)
    assert header["kid"] == key.kid == jwk_thumbprint(key.public_jwk)
    public = jwt.PyJWK(dict(key.public_jwk)).key
    assert jwt.decode(token, public, algorithms=[algorithm]) == {"sub": "client"}
    assert "d" not in key.public_jwk
    assert "p" not in key.public_jwk


def test_several_keys_keep_their_order_and_escaped_newlines_are_read(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    text = (pem_of(other) + pem_of(rsa_key)).replace("\n", "\\n")
    first, second = load_signing_keys(text, "RS256")
    assert first.public_jwk["n"] != second.public_jwk["n"]
    assert jwt.PyJWK(dict(second.public_jwk)).key.public_numbers() == (
        rsa_key.public_key().public_numbers()
    )


@pytest.mark.parametrize(
    ("which", "algorithm", "complaint"),
    [
        ("ec", "RS256", "not an RSA key"),
        ("rsa", "ES256", "not a P-256 EC key"),
        ("small-rsa", "PS256", "needs at least 2048"),
        ("p384", "ES256", "not a P-256 EC key"),
        ("rsa", "HS256", "not a supported signing algorithm"),
        ("garbage", "RS256", "No PEM private key"),
    ],
)
def test_a_key_that_cannot_sign_with_the_algorithm_is_refused_by_name(
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    which: str,
    algorithm: str,
    complaint: str,
) -> None:
    texts = {
        "ec": pem_of(ec_key),
        "rsa": pem_of(rsa_key),
        "small-rsa": pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
        "p384": pem_of(ec.generate_private_key(ec.SECP384R1())),
        "garbage": "not a key",
    }
    with pytest.raises(KeyUnusable, match=complaint) as caught:
        load_signing_keys(texts[which], algorithm)
    assert "MI" not in str(caught.value)  # no base64 of any key


def test_a_damaged_key_block_is_refused_without_echoing_it(rsa_key: rsa.RSAPrivateKey) -> None:
    lines = pem_of(rsa_key).splitlines()
    damaged = "\n".join([lines[0], lines[1][:-4] + "AAAA", *lines[2:]])
    with pytest.raises(KeyUnusable, match="Key 1 is not a readable") as caught:
        load_signing_keys(damaged, "RS256")
    assert lines[1][:20] not in str(caught.value)
