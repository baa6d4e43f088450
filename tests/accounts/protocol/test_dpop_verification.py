"""accounts.protocol.dpop_verification: every check of RFC 9449 section 4.3, each with a proof
that fails it, and the RFC's own examples."""

import json
import time
import warnings
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.protocol.dpop import access_token_hash, comparable_uri, proof
from accounts.protocol.dpop_verification import (
    NonceRequired,
    ProofRefused,
    accepted_algorithms,
    bound_thumbprint,
    check_proof,
    replay_key,
    replay_seconds,
)
from accounts.protocol.signing_keys import jwk_thumbprint, public_jwk, signing_key

URL = "https://api.example.com/notes"
TOKEN = "at-abc.def-123"
NOW = 1_700_000_000.0

# RFC 9449 figures 3 and 13 (section 4.2 and 7.1): one key, a token request and a resource request.
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_HEADER = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0"
    "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10"
    "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19"
)
RFC_TOKEN_PROOF = (
    RFC_HEADER
    + ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1w"
    "bGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4Pt"
    "FLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
RFC_RESOURCE_PROOF = (
    RFC_HEADER
    + ".eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFt"
    "cGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNF"
    "c05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6px"
    "HF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"


@pytest.fixture(scope="module")
def key():
    return signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture(scope="module")
def other_key():
    return signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")


def check(dpop, **overrides):
    kwargs: dict[str, Any] = {
        "method": "POST",
        "url": URL,
        "access_token": TOKEN,
        "now": NOW,
        "iat_window": 60,
    }
    kwargs.update(overrides)
    return check_proof([dpop] if isinstance(dpop, str) else dpop, **kwargs)


def good(key, **overrides):
    kwargs: dict[str, Any] = {"method": "POST", "url": URL, "now": NOW, "access_token": TOKEN}
    kwargs.update(overrides)
    return proof(key, **kwargs)


def crafted(private, claims, header, alg="ES256"):
    """A proof signed with ``private``, with exactly these claims and header members."""
    return jwt.encode(claims, private, algorithm=alg, headers=header)


def claims_of(**overrides):
    base = {
        "jti": "j-1",
        "htm": "POST",
        "htu": URL,
        "iat": int(NOW),
        "ath": access_token_hash(TOKEN),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def header_of(key, **overrides):
    base = {"typ": "dpop+jwt", "jwk": public_jwk(key.private_key)}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_a_proof_this_site_makes_passes_and_names_its_key(key):
    checked = check(good(key))
    assert checked.thumbprint == key.kid
    assert checked.iat == int(NOW)


def test_the_rfc_resource_request_example_passes():
    checked = check_proof(
        [RFC_RESOURCE_PROOF],
        method="GET",
        url="https://resource.example.org/protectedresource",
        access_token=RFC_ACCESS_TOKEN,
        now=1_562_262_618,
    )
    assert (checked.thumbprint, checked.jti) == (RFC_JKT, "e1j3V_bKic8-LAEB")


def test_the_rfc_token_request_example_passes_without_an_access_token():
    checked = check_proof(
        [RFC_TOKEN_PROOF],
        method="POST",
        url="https://server.example.com/token",
        access_token=None,
        now=1_562_262_620,
    )
    assert checked.thumbprint == RFC_JKT


def test_the_rfc_example_is_refused_for_another_token_or_url():
    with pytest.raises(ProofRefused, match="ath"):
        check_proof(
            [RFC_RESOURCE_PROOF],
            method="GET",
            url="https://resource.example.org/protectedresource",
            access_token="another-token",
            now=1_562_262_618,
        )
    with pytest.raises(ProofRefused, match="htu"):
        check_proof(
            [RFC_RESOURCE_PROOF],
            method="GET",
            url="https://resource.example.org/elsewhere",
            access_token=RFC_ACCESS_TOKEN,
            now=1_562_262_618,
        )


# Check 1: one DPoP header. --------------------------------------------------------------------


def test_no_header_two_headers_or_two_joined_are_refused(key):
    for headers in ([], [good(key), good(key)], [f"{good(key)}, {good(key)}"]):
        with pytest.raises(ProofRefused, match="exactly one"):
            check(headers)


# Check 2: a well-formed JWT. -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "abc", "a.b", "a.b.c", "x" * 9000 + ".a.b", "e30.e30.x"])
def test_what_is_not_a_jwt_is_refused(value):
    with pytest.raises(ProofRefused):
        check(value)


# Check 3: every required claim. ----------------------------------------------------------------


@pytest.mark.parametrize("missing", ["jti", "htm", "htu", "iat", "ath"])
def test_a_proof_without_a_required_claim_is_refused(key, missing):
    dpop = crafted(key.private_key, claims_of(**{missing: None}), header_of(key))
    with pytest.raises(ProofRefused, match=missing):
        check(dpop)


def test_a_jti_that_is_no_short_string_is_refused(key):
    for jti in (42, "", "j" * 300):
        with pytest.raises(ProofRefused, match="jti"):
            check(crafted(key.private_key, claims_of(jti=jti), header_of(key)))


# Check 4: typ. ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt", "dpop"])
def test_a_proof_whose_typ_is_not_dpop_jwt_is_refused(key, typ):
    dpop = crafted(key.private_key, claims_of(), header_of(key, typ=typ))
    with pytest.raises(ProofRefused, match="typ"):
        check(dpop)


def test_typ_is_compared_without_case(key):
    dpop = crafted(key.private_key, claims_of(), header_of(key, typ="DPoP+JWT"))
    assert check(dpop).thumbprint == key.kid


# Check 5: an asymmetric algorithm the API accepts. ---------------------------------------------


def test_alg_none_is_refused(key):
    dpop = jwt.encode(claims_of(), None, algorithm="none", headers=header_of(key))  # type: ignore[arg-type]
    with pytest.raises(ProofRefused, match="alg"):
        check(dpop)


def test_an_hmac_proof_is_refused_even_if_listed(key):
    dpop = jwt.encode(claims_of(), "s" * 32, algorithm="HS256", headers=header_of(key))
    with pytest.raises(ProofRefused, match="alg"):
        check(dpop, algorithms=("ES256", "HS256"))
    with pytest.raises(ValueError, match="asymmetric"):
        accepted_algorithms(("ES256", "HS256"))
    with pytest.raises(ValueError, match="asymmetric"):
        accepted_algorithms(())


def test_an_algorithm_the_api_does_not_accept_is_refused(key):
    with pytest.raises(ProofRefused, match="alg"):
        check(good(key), algorithms=("RS256",))


# Check 6: the signature, with the header's key. ------------------------------------------------


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(key, other_key):
    dpop = crafted(other_key.private_key, claims_of(), header_of(key))
    with pytest.raises(ProofRefused, match="signature"):
        check(dpop)


def test_a_tampered_payload_is_refused(key):
    head, _, signature = good(key).split(".")
    forged = jwt.utils.base64url_encode(b'{"htm":"POST"}').decode()
    with pytest.raises(ProofRefused, match="signature"):
        check(f"{head}.{forged}.{signature}")


def test_a_jwk_that_does_not_fit_the_algorithm_is_refused(key):
    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dpop = crafted(key.private_key, claims_of(), header_of(key, jwk=public_jwk(rsa_private)))
    with pytest.raises(ProofRefused, match="jwk"):
        check(dpop)
    jwk = dict(public_jwk(key.private_key), crv="P-384")
    dpop = crafted(key.private_key, claims_of(), header_of(key, jwk=jwk))
    with pytest.raises(ProofRefused, match="jwk"):
        check(dpop)


def test_a_proof_without_a_jwk_is_refused(key):
    for jwk in (None, "a key", ["k"]):
        dpop = crafted(key.private_key, claims_of(), {"typ": "dpop+jwt", "jwk": jwk})
        with pytest.raises(ProofRefused, match="jwk"):
            check(dpop)


def test_a_short_rsa_key_is_refused():
    # A weak key on purpose: the proof must be refused for it.
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    header = {"typ": "dpop+jwt", "jwk": public_jwk(small)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        dpop = jwt.encode(claims_of(), small, algorithm="RS256", headers=header)
    with pytest.raises(ProofRefused, match="2048"):
        check(dpop)


def test_an_rsa_proof_passes_when_the_api_accepts_rs256():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_key = signing_key(private, "RS256")
    assert check(good(rsa_key), algorithms=("RS256",)).thumbprint == rsa_key.kid


# Check 7: the jwk is a public key. -------------------------------------------------------------


def test_a_jwk_holding_the_private_key_is_refused(key):
    private_numbers = key.private_key.private_numbers()
    d = jwt.utils.base64url_encode(private_numbers.private_value.to_bytes(32, "big")).decode()
    jwk = dict(public_jwk(key.private_key), d=d)
    dpop = crafted(key.private_key, claims_of(), header_of(key, jwk=jwk))
    with pytest.raises(ProofRefused, match="private"):
        check(dpop)


# Check 8: htm. ---------------------------------------------------------------------------------


@pytest.mark.parametrize("htm", ["GET", "post", "PUT"])
def test_a_proof_for_another_method_is_refused(key, htm):
    dpop = crafted(key.private_key, claims_of(htm=htm), header_of(key))
    with pytest.raises(ProofRefused, match="htm"):
        check(dpop)


# Check 9: htu. ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "htu",
    [
        "https://api.example.com/notes/1",
        "https://evil.example.com/notes",
        "http://api.example.com/notes",
        "https://api.example.com:8443/notes",
        "/notes",
        42,
    ],
)
def test_a_proof_for_another_url_is_refused(key, htu):
    dpop = crafted(key.private_key, claims_of(htu=htu), header_of(key))
    with pytest.raises(ProofRefused, match="htu"):
        check(dpop)


@pytest.mark.parametrize(
    "htu",
    [
        "HTTPS://API.Example.COM/notes",
        "https://api.example.com:443/notes",
        "https://api.example.com/notes?page=2",
        "https://api.example.com/notes#top",
        "https://api.example.com/%6Eotes",
    ],
)
def test_htu_is_compared_after_normalisation(key, htu):
    dpop = crafted(key.private_key, claims_of(htu=htu), header_of(key))
    assert check(dpop).thumbprint == key.kid


def test_comparable_uri():
    assert comparable_uri("http://H:80") == "http://h/"
    assert comparable_uri("https://h/a%2fb%7e") == "https://h/a%2Fb~"
    assert comparable_uri("http://[::1]:8000/x?y") == "http://[::1]:8000/x"
    assert comparable_uri("https://h/caf\u00e9") == comparable_uri("https://h/caf%c3%a9")
    with pytest.raises(UnicodeEncodeError):
        comparable_uri("https://h/\ud800")
    with pytest.raises(ValueError, match="http"):
        comparable_uri("ws://h/x")


# Check 10: the server's nonce, when it wants one. ----------------------------------------------


def test_a_nonce_is_needed_only_when_the_server_asks(key):
    accepts = {"n-1"}.__contains__
    with pytest.raises(NonceRequired):
        check(good(key), nonce_accepted=accepts)
    with pytest.raises(NonceRequired):
        check(good(key, nonce="n-0"), nonce_accepted=accepts)
    assert check(good(key, nonce="n-1"), nonce_accepted=accepts).thumbprint == key.kid
    assert check(good(key, nonce="anything")).thumbprint == key.kid


# Check 11: iat within the window. --------------------------------------------------------------


@pytest.mark.parametrize(("offset", "passes"), [(-59, True), (59, True), (-61, False), (61, False)])
def test_iat_must_be_within_the_window_either_way(key, offset, passes):
    dpop = good(key, now=NOW + offset)
    if passes:
        assert check(dpop).iat == int(NOW + offset)
    else:
        with pytest.raises(ProofRefused, match="iat"):
            check(dpop)


@pytest.mark.parametrize("iat", ["1700000000", True, None])
def test_an_iat_that_is_no_time_is_refused(key, iat):
    dpop = crafted(key.private_key, claims_of(iat=iat), header_of(key))
    with pytest.raises(ProofRefused, match="iat"):
        check(dpop)


# Check 12: ath names the presented token (the key binding is the validator's, see below). ------


def test_a_proof_for_another_token_is_refused(key):
    with pytest.raises(ProofRefused, match="ath"):
        check(good(key, access_token="another-token"))
    with pytest.raises(ProofRefused, match="ath"):
        check(good(key), access_token="tök")


def test_bound_thumbprint_reads_cnf_jkt_only():
    assert bound_thumbprint({"cnf": {"jkt": "abc"}}) == "abc"
    assert bound_thumbprint({"cnf": {"x5t#S256": "abc"}}) is None
    assert bound_thumbprint({"cnf": "abc"}) is None
    assert bound_thumbprint({}) is None


# Replay: what the cache keeps, and for how long. -----------------------------------------------


def test_replay_keys_are_per_key_and_jti_and_hashed(key, other_key):
    mine = check(good(key))
    again = check(good(key))
    assert replay_key(mine) != replay_key(again)  # a new jti every proof
    assert mine.jti not in replay_key(mine)
    assert len(replay_key(mine)) == 64


def test_a_jti_is_remembered_until_its_iat_leaves_the_window(key):
    checked = check(good(key, now=NOW - 50))
    assert replay_seconds(checked, now=NOW, iat_window=60) == 11
    assert replay_seconds(checked, now=NOW + 100, iat_window=60) == 1


def test_a_proof_made_now_verifies_now(key):
    dpop = proof(key, method="GET", url=URL, now=time.time(), access_token=TOKEN)
    checked = check_proof([dpop], method="GET", url=URL, access_token=TOKEN, now=time.time())
    assert jwk_thumbprint(jwt.get_unverified_header(dpop)["jwk"]) == checked.thumbprint


# Any value in any member: a refusal, never another exception. -----------------------------------
# A proof is checked before the token (a client needs no valid token to send one), so whatever
# JSON a client puts in it must end as ProofRefused: the API's answer is then a clean 401.

HOSTILE = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**400,
    -(10**400),
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    "",
    "é",
    "\ud800",
    "\x00",
    "NaN",
    "x" * 3000,
    [],
    ["GET"],
    {},
    {"a": 1},
]


def signed(private, header, claims):
    """A proof signed with ``private`` over exactly this header (any alg, typ or jwk member,
    which PyJWT's own encoder would not write) and these claims."""
    signing_input = ".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()).decode() for part in (header, claims)
    )
    signature = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
        signing_input.encode(), private
    )
    return f"{signing_input}.{jwt.utils.base64url_encode(signature).decode()}"


def outcome(dpop, **overrides):
    try:
        check(dpop, **overrides)
    except ProofRefused:
        return "refused"
    except Exception as exc:  # what the property is about: anything else is a 500
        return f"{type(exc).__name__}: {exc}"[:100]
    return "accepted"


def refusals(key, build, accepted=lambda value: False, **overrides):
    """Each hostile value whose proof did not end as it should: refused (or, where ``accepted``
    says the value is a legitimate one, accepted)."""
    wrong = {}
    for value in HOSTILE:
        expected = "accepted" if accepted(value) else "refused"
        got = outcome(signed(key.private_key, *build(value)), **overrides)
        if got != expected:
            wrong[repr(value)[:30]] = got
    return wrong


def es256_header(key, **members):
    return {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key.private_key), **members}


@pytest.mark.parametrize("claim", ["htm", "htu", "iat", "ath", "jti"])
def test_any_value_of_a_claim_is_refused_cleanly(key, claim):
    # A jti is any short string: a strange one is still unique, and is accepted.
    def legitimate(value):
        return claim == "jti" and isinstance(value, str) and 0 < len(value) <= 256

    wrong = refusals(key, lambda v: (es256_header(key), claims_of(**{claim: v})), legitimate)
    assert wrong == {}


def test_any_value_of_the_nonce_is_refused_cleanly(key):
    from accounts.resource_server.nonces import HmacNonces

    accepts = HmacNonces(b"n" * 32).accepts
    build = lambda v: (es256_header(key), claims_of(nonce=v))  # noqa: E731
    assert refusals(key, build, nonce_accepted=accepts) == {}
    assert refusals(key, build, nonce_accepted={"é", "\ud800"}.__contains__) == {}


@pytest.mark.parametrize("member", ["typ", "alg", "jwk"])
def test_any_value_of_a_header_member_is_refused_cleanly(key, member):
    assert refusals(key, lambda v: (es256_header(key, **{member: v}), claims_of())) == {}


@pytest.mark.parametrize("member", ["kty", "crv", "x", "y", "d"])
def test_any_value_of_an_ec_jwk_member_is_refused_cleanly(key, member):
    def build(value):
        jwk = {**public_jwk(key.private_key), member: value}
        return es256_header(key, jwk=jwk), claims_of()

    assert refusals(key, build) == {}


@pytest.mark.parametrize("member", ["n", "e"])
def test_any_value_of_an_rsa_jwk_member_is_refused_cleanly(key, member):
    rsa_jwk = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def build(value):
        return es256_header(key, alg="RS256", jwk={**rsa_jwk, member: value}), claims_of()

    assert refusals(key, build, algorithms=("RS256", "ES256")) == {}


def test_a_strange_jti_is_remembered_like_any_other(key):
    checked = check(signed(key.private_key, es256_header(key), claims_of(jti="\ud800é")))
    assert len(replay_key(checked)) == 64
