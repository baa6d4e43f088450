import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from accounts.protocol.dpop import (
    LatestNonces,
    access_token_hash,
    nonce_to_retry_with,
    proof,
    target_uri,
)
from accounts.protocol.signing_keys import SigningKey, jwk_thumbprint, signing_key


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")


def test_access_token_hash_matches_the_rfc_9449_example() -> None:
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    assert access_token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_a_proof_binds_method_uri_time_token_and_nonce_and_carries_only_the_public_key(
    key: SigningKey,
) -> None:
    token = proof(
        key,
        method="post",
        url="HTTPS://API.Example.com/notes/1?page=2#top",
        now=1_700_000_000.7,
        access_token="at-123",
        nonce="n-1",
    )
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert "kid" not in header
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}
    assert jwk_thumbprint(header["jwk"]) == key.kid
    public = jwt.PyJWK(header["jwk"], algorithm="ES256").key
    claims = jwt.decode(token, public, algorithms=["ES256"])
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://api.example.com/notes/1"
    assert claims["iat"] == 1_700_000_000
    assert claims["ath"] == access_token_hash("at-123")
    assert claims["nonce"] == "n-1"
    private = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert private.decode().splitlines()[1][:16] not in token


def test_every_proof_has_its_own_jti(key: SigningKey) -> None:
    proofs = [proof(key, method="GET", url="https://a.example/", now=1) for _ in range(50)]
    jtis = {jwt.decode(p, options={"verify_signature": False})["jti"] for p in proofs}
    assert len(jtis) == 50


def test_target_uri_keeps_the_path_and_drops_query_and_fragment() -> None:
    assert target_uri("https://Op.Example/token?x=1#f") == "https://op.example/token"
    assert target_uri("https://op.example") == "https://op.example/"


def test_target_uri_is_in_the_normal_form_a_receiver_compares() -> None:
    # RFC 3986 section 6.2.2: what a strict receiver compares, so it matches too.
    assert (
        target_uri("https://Op.Example:443/a%7e%2fb/caf\u00e9")
        == "https://op.example/a~%2Fb/caf%C3%A9"
    )
    assert target_uri("http://op.example:8080/%41") == "http://op.example:8080/A"


@pytest.mark.parametrize(
    ("status", "error", "header", "sent", "expected"),
    [
        (400, "use_dpop_nonce", "abc", None, "abc"),  # token endpoint challenge
        (401, "use_dpop_nonce", " abc ", "old", "abc"),  # resource server challenge
        (401, "use_dpop_nonce", "abc", "abc", None),  # the same nonce again: a loop, give up
        (400, "invalid_grant", "abc", None, None),  # another error with a nonce is no challenge
        (400, "use_dpop_nonce", None, None, None),  # a challenge without a nonce cannot be met
        (400, "use_dpop_nonce", 'ab"c', None, None),  # not NQCHAR
        (200, None, "abc", None, None),  # a new nonce on success is kept, not retried
    ],
)
def test_only_a_real_new_nonce_challenge_earns_a_retry(
    status: int, error: str | None, header: str | None, sent: str | None, expected: str | None
) -> None:
    answer = nonce_to_retry_with(status=status, error=error, nonce_header=header, sent_nonce=sent)
    assert answer == expected


def test_the_latest_usable_nonce_is_kept_per_origin() -> None:
    nonces = LatestNonces()
    nonces.note("https://OP.example/token", " n-1 ")
    assert nonces.latest("https://op.example/par?x=1") == "n-1"
    nonces.note("https://op.example/token", "n-2")
    nonces.note("https://op.example/token", 'bad"nonce')  # not one a proof can carry
    nonces.note("https://op.example/token", None)
    assert nonces.latest("https://op.example/token") == "n-2"
    assert nonces.latest("https://op.example:8443/token") is None  # another origin
    nonces.clear()
    assert nonces.latest("https://op.example/token") is None


def test_nonces_are_bounded_and_the_least_recently_told_origin_goes_first() -> None:
    nonces = LatestNonces(limit=2)
    nonces.note("https://a.example", "a")
    nonces.note("https://b.example", "b")
    nonces.note("https://a.example", "a2")
    nonces.note("https://c.example", "c")
    assert [nonces.latest(f"https://{n}.example") for n in "abc"] == ["a2", None, "c"]
