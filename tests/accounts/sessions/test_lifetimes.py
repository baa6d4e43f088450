"""The lifetime rules as pure functions, and the policy's validation, with a fixed clock."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from accounts.models import SessionPolicy
from accounts.sessions.lifetimes import (
    Policy,
    deadlines,
    human_duration,
    policy_from_cache_value,
    remaining_lifetime,
)

DAY = 86400.0
POLICY = Policy(
    absolute_lifetime=7 * DAY,
    inactivity_timeout=DAY,
    activity_interval=60,
    refresh_skew=60,
    refresh_token_lifetime=None,
)


def test_an_active_session_ends_at_its_absolute_lifetime():
    created = 1_000_000.0
    last_activity = created + 7 * DAY - 10  # active a moment ago
    clocks = deadlines(created, last_activity, POLICY)
    assert clocks.expires_at == created + 7 * DAY
    assert clocks.reason == "absolute_lifetime"


def test_an_idle_session_ends_at_its_inactivity_timeout():
    created = 1_000_000.0
    clocks = deadlines(created, created + 3600, POLICY)
    assert clocks.expires_at == created + 3600 + DAY
    assert clocks.reason == "inactivity_timeout"


def test_remaining_lifetime_is_what_the_cookie_and_ttl_get():
    created = 1_000_000.0
    assert remaining_lifetime(created, created, POLICY, now=created + 100) == DAY - 100
    # Never zero or negative: Redis would keep a key with TTL 0 forever or reject it.
    assert remaining_lifetime(created, created, POLICY, now=created + 2 * DAY) == 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(604800, "7 days"), (86400, "1 day"), (5400, "90 minutes"), (61, "61 seconds")],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5400, "1 hour 30 minutes"),
        (2 * DAY + 3 * 3600 + 59, "2 days 3 hours"),  # two units, rounded down
        (DAY + 1, "1 day 1 second"),
        (61.9, "1 minute 1 second"),
        (0.4, "0 seconds"),
    ],
)
def test_times_left_read_in_their_two_largest_units(seconds, text):
    assert human_duration(seconds, approximate=True) == text


def policy_row(**overrides):
    values = {
        "absolute_lifetime": timedelta(days=7),
        "inactivity_timeout": timedelta(days=1),
        "activity_interval": timedelta(seconds=60),
        "refresh_skew": timedelta(seconds=60),
    }
    values.update(overrides)
    return SessionPolicy(**values)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("absolute_lifetime", timedelta(0), "longer than zero"),
        ("inactivity_timeout", timedelta(seconds=-5), "longer than zero"),
        ("activity_interval", timedelta(0), "longer than zero"),
        ("refresh_skew", timedelta(seconds=-1), "not be negative"),
        ("refresh_token_lifetime", timedelta(0), "longer than zero"),
        ("inactivity_timeout", timedelta(days=8), "longer than the absolute lifetime"),
        ("activity_interval", timedelta(days=1), "shorter than the inactivity timeout"),
    ],
)
def test_nonsense_is_refused_with_a_message_on_its_field(field, value, message):
    with pytest.raises(ValidationError) as error:
        policy_row(**{field: value}).clean()
    assert message in " ".join(error.value.message_dict[field])


def test_sensible_values_pass():
    policy_row(refresh_token_lifetime=timedelta(days=30)).clean()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("absolute_lifetime", timedelta(days=3_000_000), "at most 3650 days"),
        ("absolute_lifetime", timedelta(days=999_999_999), "at most 3650 days"),
        ("refresh_token_lifetime", timedelta(days=3651), "at most 3650 days"),
        ("activity_interval", timedelta(days=2), "at most 1 day"),
        ("refresh_skew", timedelta(days=2), "at most 1 day"),
    ],
)
def test_durations_beyond_what_dates_can_hold_are_refused(field, value, message):
    row = policy_row(absolute_lifetime=timedelta(days=3650), inactivity_timeout=timedelta(days=3))
    setattr(row, field, value)
    with pytest.raises(ValidationError) as error:
        row.clean()
    assert message in " ".join(error.value.message_dict[field])


def test_the_longest_allowed_policy_passes():
    policy_row(
        absolute_lifetime=timedelta(days=3650),
        inactivity_timeout=timedelta(days=3650),
        activity_interval=timedelta(days=1),
        refresh_skew=timedelta(days=1),
        refresh_token_lifetime=timedelta(days=3650),
    ).clean()


def test_a_stored_policy_beyond_the_limits_is_read_clamped():
    # A row saved before the limits existed, or written around the admin, must not break dates.
    row = policy_row(
        absolute_lifetime=timedelta(days=999_999_999),
        inactivity_timeout=timedelta(days=3_000_000),
        activity_interval=timedelta(days=50),
        refresh_skew=timedelta(days=-5),
        refresh_token_lifetime=timedelta(days=999_999_999),
    )
    policy = Policy.from_model(row)
    assert policy.absolute_lifetime == policy.inactivity_timeout == 3650 * DAY
    assert policy.refresh_token_lifetime == 3650 * DAY
    assert policy.activity_interval == DAY
    assert policy.refresh_skew == 0
    cached = policy_from_cache_value({**policy.to_json(), "absolute_lifetime": 1e15})
    assert cached is not None
    assert cached.absolute_lifetime == 3650 * DAY


def test_remaining_lifetime_never_exceeds_what_a_cookie_date_can_hold():
    huge = Policy(1e15, 1e15, 60, 60, None)
    assert remaining_lifetime(0.0, 0.0, huge, now=0.0) == int(3650 * DAY)
