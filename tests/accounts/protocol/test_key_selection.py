"""accounts.protocol.key_selection: which published key may have signed, and which headers name
a key of their own."""

import pytest

from accounts.protocol.key_selection import names_foreign_key, select_signing_key

RSA_1 = {"kty": "RSA", "kid": "rsa-1", "n": "...", "e": "AQAB"}
RSA_2 = {"kty": "RSA", "kid": "rsa-2", "n": "...", "e": "AQAB"}
EC_1 = {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": "...", "y": "..."}
ENC = {"kty": "RSA", "kid": "enc-1", "use": "enc", "n": "...", "e": "AQAB"}


def test_the_kid_picks_the_key():
    assert select_signing_key([RSA_1, RSA_2], "rsa-2", "RS256") is RSA_2


def test_a_key_of_another_type_than_the_algorithm_is_never_picked():
    assert select_signing_key([EC_1], "ec-1", "RS256") is None
    assert select_signing_key([EC_1], "ec-1", "ES256") is EC_1


def test_an_encryption_key_is_never_picked():
    assert select_signing_key([ENC], "enc-1", "RS256") is None


def test_a_key_pinned_to_another_algorithm_is_never_picked():
    assert select_signing_key([{**RSA_1, "alg": "RS512"}], "rsa-1", "RS256") is None


def test_without_kid_only_a_single_candidate_is_picked():
    assert select_signing_key([RSA_1, EC_1], None, "RS256") is RSA_1
    assert select_signing_key([RSA_1, RSA_2], None, "RS256") is None


@pytest.mark.parametrize("name", ["jku", "x5u", "jwk", "x5c"])
def test_a_header_naming_a_key_of_its_own_is_foreign(name):
    assert names_foreign_key({"alg": "RS256", name: "anything"})


def test_an_ordinary_header_is_not_foreign():
    assert not names_foreign_key({"alg": "RS256", "kid": "rsa-1", "typ": "JWT", "x5t": "abc"})
