"""What a refresh makes of the token record: the record module alone builds records."""

import pytest

from accounts.tokens.credential import AccessCredential
from accounts.tokens.record import TokenRecord, renewal_due

NOW = 1_800_000_000.0
OLD_CLAIMS = {"iss": "https://issuer.test", "sub": "alice", "aud": "bff", "exp": NOW - 10}
NEW_CLAIMS = {**OLD_CLAIMS, "name": "Alice Liddell", "exp": NOW + 600}
OTHER_API = {"https://api2.test": {"access_token": "api2-token", "expires_at": NOW + 100}}


def old_record(**changes):
    fields = {
        "access_token": "a1",
        "id_token": "id1",
        "refresh_token": "r1",
        "token_type": "Bearer",
        "scope": "openid offline_access",
        "access_token_expires_at": NOW - 1,
        "id_token_expires_at": NOW - 10,
        "refresh_token_expires_at": NOW + 3600,
        "claims": OLD_CLAIMS,
        "obtained_at": NOW - 300,
        "audience_tokens": OTHER_API,
    }
    return TokenRecord(**{**fields, **changes})


def test_a_renewal_replaces_the_access_token_and_its_expiry():
    renewed = old_record().renewed_with(
        {"access_token": "a2", "token_type": "bearer", "expires_in": 300}, claims=None, now=NOW
    )
    assert renewed.access_token == "a2"
    assert renewed.access_token_expires_at == NOW + 300
    assert renewed.token_type == "bearer"
    assert renewed.obtained_at == NOW


def test_what_the_answer_leaves_out_stands():
    old = old_record()
    renewed = old.renewed_with({"access_token": "a2", "expires_in": 300}, claims=None, now=NOW)
    assert renewed.refresh_token == "r1"  # RFC 6749 section 6: keep using the old one
    assert renewed.refresh_token_expires_at == old.refresh_token_expires_at
    assert renewed.scope == old.scope
    assert (renewed.id_token, renewed.claims) == (old.id_token, old.claims)
    assert renewed.id_token_expires_at == OLD_CLAIMS["exp"]
    assert renewed.audience_tokens == OTHER_API
    assert renewed.token_type == "Bearer"


def test_what_the_answer_brings_replaces_the_old():
    answer = {
        "access_token": "a2",
        "refresh_token": "r2",
        "refresh_expires_in": 1800,
        "scope": "openid",
        "id_token": "id2",
        "expires_in": 300,
    }
    renewed = old_record().renewed_with(answer, claims=NEW_CLAIMS, now=NOW)
    assert renewed.refresh_token == "r2"
    assert renewed.refresh_token_expires_at == NOW + 1800
    assert renewed.scope == "openid"
    assert (renewed.id_token, renewed.claims) == ("id2", NEW_CLAIMS)
    assert renewed.id_token_expires_at == NEW_CLAIMS["exp"]


@pytest.mark.parametrize("refresh_token", [None, ""])
def test_an_empty_refresh_token_in_the_answer_keeps_the_old_one(refresh_token):
    answer = {"access_token": "a2", "refresh_token": refresh_token}
    assert old_record().renewed_with(answer, claims=None, now=NOW).refresh_token == "r1"


def test_a_refresh_expiry_the_provider_no_longer_states_is_unknown_only_if_it_was():
    answer = {"access_token": "a2", "expires_in": 300}
    renewed = old_record(refresh_token_expires_at=None).renewed_with(answer, claims=None, now=NOW)
    assert renewed.refresh_token_expires_at is None


def test_an_answer_without_expiry_leaves_an_opaque_access_token_without_one():
    renewed = old_record().renewed_with({"access_token": "opaque"}, claims=None, now=NOW)
    assert renewed.access_token_expires_at is None


def test_a_token_for_another_api_is_added_beside_the_others():
    old = old_record()
    answer = {"access_token": "api3-token", "expires_in": 60, "token_type": "DPoP"}
    renewed = old.with_audience_token("https://api3.test read", answer, claims=None, now=NOW)
    assert renewed.audience_tokens == {
        **OTHER_API,
        "https://api3.test read": {
            "access_token": "api3-token",
            "expires_at": NOW + 60,
            "obtained_at": NOW,
            "token_type": "DPoP",
        },
    }
    # It keeps its own type: the main token's says nothing of it.
    assert renewed.audience_token("https://api3.test read", now=NOW) == AccessCredential(
        "api3-token", "DPoP"
    )
    assert renewed.credential == AccessCredential("a1", "Bearer")
    # The main token is not what was renewed.
    assert (renewed.access_token, renewed.access_token_expires_at) == ("a1", NOW - 1)
    assert renewed.obtained_at == old.obtained_at
    assert (renewed.refresh_token, renewed.id_token, renewed.claims) == ("r1", "id1", OLD_CLAIMS)


def test_a_token_for_another_api_replaces_the_one_held_and_takes_a_rotation_along():
    answer = {"access_token": "api2-new", "refresh_token": "r2", "id_token": "id2"}
    renewed = old_record().with_audience_token(
        "https://api2.test", answer, claims=NEW_CLAIMS, now=NOW
    )
    assert renewed.audience_tokens == {
        "https://api2.test": {
            "access_token": "api2-new",
            "expires_at": None,
            "obtained_at": NOW,
            "token_type": "Bearer",
        }
    }
    assert (renewed.refresh_token, renewed.id_token, renewed.claims) == ("r2", "id2", NEW_CLAIMS)


def test_the_record_built_is_a_record_that_stores():
    renewed = old_record().renewed_with({"access_token": "a2"}, claims=None, now=NOW)
    assert TokenRecord.from_json(renewed.to_json()) == renewed


@pytest.mark.parametrize(
    ("lifetime", "skew", "elapsed", "due"),
    [
        # An hour-long token: renewed in its last minute (the skew), not before.
        (3600, 60, 3539, False),
        (3600, 60, 3540, True),
        # A token that lives less than the skew: renewed half-way, never when just obtained.
        (30, 60, 0, False),
        (30, 60, 14.9, False),
        (30, 60, 15, True),
        (3, 60, 1, False),
        (3, 60, 1.5, True),
        # No skew: renewed when it expires.
        (30, 0, 29.9, False),
        (30, 0, 30, True),
    ],
)
def test_when_a_token_is_due_for_renewal(lifetime, skew, elapsed, due):
    obtained = 1_000_000.0
    assert renewal_due(obtained + lifetime, obtained, now=obtained + elapsed, skew=skew) is due


def test_an_unknown_expiry_is_never_due_and_an_unknown_start_keeps_the_skew():
    assert renewal_due(None, 1.0, now=10**10, skew=60) is False
    # Records written before obtained_at was kept: the skew applies as it is.
    assert renewal_due(1000.0, 0.0, now=941.0, skew=60) is True
    assert renewal_due(1000.0, 0.0, now=939.0, skew=60) is False


def test_a_token_for_another_api_follows_the_same_rule():
    record = old_record().with_audience_token(
        "https://api3.test", {"access_token": "t", "expires_in": 30}, claims=None, now=NOW
    )
    assert record.audience_token("https://api3.test", now=NOW + 1, skew=60) == AccessCredential(
        "t", "Bearer"
    )
    assert record.audience_token("https://api3.test", now=NOW + 15, skew=60) is None


def test_a_token_held_from_before_types_were_kept_is_a_bearer_token():
    # OTHER_API's entry has no "token_type": written before it was kept.
    held = old_record().audience_token("https://api2.test", now=NOW)
    assert held == AccessCredential("api2-token", "Bearer")
    assert not held.dpop_bound


@pytest.mark.parametrize("stored", ["tök", "two words", "a\nb", "🔑"])
def test_a_stored_token_no_request_can_carry_is_read_as_one_to_renew(stored):
    # Kept by an earlier version, which took whatever a provider sent: a DPoP proof hashes the
    # token's ASCII, so every call to a DPoP upstream with it was a 500.
    held = {**OTHER_API, "https://api3.test": {"access_token": stored, "expires_at": NOW + 100}}
    fresh = old_record(
        access_token=stored, access_token_expires_at=NOW + 3600, audience_tokens=held
    )
    record = TokenRecord.from_json(fresh.to_json())
    assert record.access_token_due(now=NOW, skew=60)
    assert record.access_token_expired(now=NOW)
    assert record.audience_token("https://api3.test", now=NOW) is None  # fetched again
    assert record.audience_token("https://api2.test", now=NOW) == AccessCredential("api2-token")
    assert (record.refresh_token, record.claims) == (fresh.refresh_token, fresh.claims)


def test_a_stored_token_that_can_be_sent_is_read_as_it_was():
    fresh = old_record(access_token="eyJ.a-b_c~+/=", access_token_expires_at=NOW + 3600)
    assert TokenRecord.from_json(fresh.to_json()) == fresh
