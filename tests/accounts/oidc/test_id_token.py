"""Every ID token rule of OIDC Core 3.1.3.7 and the OpenID RP test catalogue, one test each."""

import base64
import json
import time

import jwt
import pytest

from accounts.exceptions import InvalidIDToken
from accounts.oidc.id_token import validate_id_token
from tests.token_factory import CLIENT_ID, ISSUER, JWKS_URI, SigningKey, claims

NONCE = "n-0S6_WzA2Mj"


@pytest.fixture(autouse=True)
def _client(settings):
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLOCK_SKEW = 60


def validate(token, nonce=NONCE):
    return validate_id_token(token, issuer=ISSUER, jwks_uri=JWKS_URI, nonce=nonce)


def assert_rejected(token, match, nonce=NONCE):
    with pytest.raises(InvalidIDToken, match=match):
        validate(token, nonce=nonce)


def test_accepts_a_valid_token(key, published):
    result = validate(key.sign(claims()))
    assert result["sub"] == "alice"
    assert result["email"] == "alice@example.test"


def test_accepts_audience_as_one_element_array(key, published):
    assert validate(key.sign(claims(aud=[CLIENT_ID])))["sub"] == "alice"


def test_accepts_token_without_kid_when_one_key_fits(published):
    keyless = SigningKey(kid=None)
    published["keys"] = [keyless.public_jwk]
    assert validate(keyless.sign(claims()))["sub"] == "alice"


def test_rejects_token_without_kid_when_several_keys_fit(published, key):
    keyless = SigningKey(kid=None)
    published["keys"] = [keyless.public_jwk, SigningKey("other").public_jwk]
    assert_rejected(keyless.sign(claims()), "key the provider does not publish")


def test_accepts_small_clock_skew(key, published):
    now = int(time.time())
    # Issued 30 s "in the future" and expired 30 s ago: within the 60 s leeway.
    assert validate(key.sign(claims(iat=now + 30, exp=now - 30)))["sub"] == "alice"


def test_rejects_wrong_issuer(key, published):
    assert_rejected(key.sign(claims(iss="https://evil.test")), "another issuer")


def test_rejects_issuer_with_trailing_slash(key, published):
    assert_rejected(key.sign(claims(iss=ISSUER + "/")), "another issuer")


def test_rejects_wrong_audience(key, published):
    assert_rejected(key.sign(claims(aud="someone-else")), "another client")


def test_rejects_missing_audience(key, published):
    assert_rejected(key.sign(claims(aud=None)), "'aud'")


def test_rejects_untrusted_extra_audience(key, published):
    token = key.sign(claims(aud=[CLIENT_ID, "untrusted"], azp=CLIENT_ID))
    assert_rejected(token, "audience this site does not trust")


def test_accepts_extra_audience_that_is_trusted(key, published, settings):
    settings.OIDC_TRUSTED_AUDIENCES = ["https://api.test"]
    token = key.sign(claims(aud=[CLIENT_ID, "https://api.test"], azp=CLIENT_ID))
    assert validate(token)["sub"] == "alice"


def test_rejects_several_audiences_without_azp(key, published, settings):
    settings.OIDC_TRUSTED_AUDIENCES = ["https://api.test"]
    assert_rejected(key.sign(claims(aud=[CLIENT_ID, "https://api.test"])), "no 'azp'")


def test_rejects_azp_of_another_client(key, published):
    assert_rejected(key.sign(claims(azp="someone-else")), "'azp' names another client")


def test_rejects_missing_sub(key, published):
    assert_rejected(key.sign(claims(sub=None)), "'sub'")


def test_rejects_empty_sub(key, published):
    assert_rejected(key.sign(claims(sub="")), "'sub'")


def test_rejects_missing_iat(key, published):
    assert_rejected(key.sign(claims(iat=None)), "'iat'")


def test_rejects_missing_exp(key, published):
    assert_rejected(key.sign(claims(exp=None)), "'exp'")


def test_rejects_expired_token(key, published):
    now = int(time.time())
    assert_rejected(key.sign(claims(iat=now - 400, exp=now - 120)), "expired")


def test_rejects_token_issued_far_in_the_past(key, published):
    now = int(time.time())
    assert_rejected(key.sign(claims(iat=now - 3600, exp=now + 300)), "too long ago")


def test_rejects_token_issued_in_the_future(key, published):
    now = int(time.time())
    assert_rejected(key.sign(claims(iat=now + 600, exp=now + 900)), "not valid yet")


def test_rejects_bad_signature(key, published):
    header, payload, signature = key.sign(claims()).split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered["sub"] = "mallory"
    forged_payload = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    assert_rejected(f"{header}.{forged_payload}.{signature}", "signature")


def test_rejects_token_signed_by_an_unpublished_key(published):
    stranger = SigningKey("key-1")  # same kid, different key
    assert_rejected(stranger.sign(claims()), "signature")


def test_rejects_alg_none(published):
    token = jwt.encode(claims(), None, algorithm="none", headers={"kid": "key-1"})  # type: ignore[arg-type]
    assert_rejected(token, "'none'")


def test_rejects_hs256_signed_with_the_public_key(key, published):
    # The classic confusion attack: HMAC keyed with the RSA public key the provider publishes.
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT","kid":"key-1"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signing_input = header + b"." + payload
    mac = hmac.new(key.public_pem, signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
    assert_rejected(token, "'HS256'")


def test_rejects_hs256_signed_with_the_client_secret(published, settings):
    token = jwt.encode(claims(), settings.OIDC_CLIENT_SECRET, algorithm="HS256")
    assert_rejected(token, "'HS256'")


def test_rejects_valid_signature_with_another_algorithm(key, published):
    # A real RSA signature, but RS512 while RS256 is registered.
    assert_rejected(key.sign(claims(), alg="RS512"), "'RS512'")


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c"])
def test_rejects_headers_pointing_to_foreign_keys(published, header):
    attacker = SigningKey("key-1")
    value = {
        "jwk": attacker.public_jwk,
        # A certificate chain (base64 DER); never parsed, so its content does not matter.
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    }.get(header, "https://evil.test/keys")
    token = attacker.sign(claims(), headers={header: value})
    assert_rejected(token, "names its own signing key")


def test_rejects_wrong_nonce(key, published):
    assert_rejected(key.sign(claims(nonce="other")), "nonce")


def test_rejects_missing_nonce_when_one_was_sent(key, published):
    assert_rejected(key.sign(claims(nonce=None)), "nonce")


def test_rejects_malformed_token(published):
    assert_rejected("not-a-jwt", "well-formed")


def test_refetches_keys_when_provider_rotated_them(key, published):
    assert validate(key.sign(claims()))["sub"] == "alice"
    rotated = SigningKey("key-2")
    published["keys"] = [key.public_jwk, rotated.public_jwk]
    assert validate(rotated.sign(claims()))["sub"] == "alice"
    assert published["fetches"] == 2


def test_refetch_on_unknown_kid_is_rate_limited(key, published, settings):
    settings.OIDC_JWKS_MIN_REFETCH_INTERVAL = 3600
    validate(key.sign(claims()))
    for _ in range(5):
        with pytest.raises(InvalidIDToken):
            validate(SigningKey("forged").sign(claims()))
    # One fetch to learn the keys; unknown kids after that do not reach the provider again.
    assert published["fetches"] == 1


def test_rejects_an_audience_of_trusted_apis_only_without_this_client(key, published, settings):
    # Trusted audiences may accompany this client, never stand in for it.
    settings.OIDC_TRUSTED_AUDIENCES = ["https://api.test"]
    token = key.sign(claims(aud=["https://api.test"], azp=CLIENT_ID))
    assert_rejected(token, "issued to another client")
    assert_rejected(key.sign(claims(aud="https://api.test")), "issued to another client")
