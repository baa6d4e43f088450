"""accounts.protocol.times: a time from someone else's JSON is a time, or it is nothing."""

from datetime import UTC, datetime

import pytest

from accounts.protocol.times import LATEST, lifetime, numeric_date, utc_datetime


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (1_700_000_000.5, 1_700_000_000.5),
        (LATEST, LATEST),
        (LATEST + 1, None),
        (10**400, None),  # overflows a float
        (1e300, None),  # no date shows it
        (float("nan"), None),
        (float("inf"), None),
        (0, None),
        (-1, None),
        (True, None),
        ("1700000000", None),
        (None, None),
        ([1], None),
    ],
)
def test_numeric_date(value, seconds):
    assert numeric_date(value) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (300, 300.0),
        ("300", 300.0),
        (0.5, 0.5),
        (0, None),
        (-300, None),
        (10**400, None),
        (1e300, None),
        ("1e400", None),
        ("nan", None),
        ("soon", None),
        (float("inf"), None),
        (True, None),
        (None, None),
    ],
)
def test_lifetime(value, seconds):
    assert lifetime(value) == seconds


def test_utc_datetime_shows_what_a_calendar_can():
    assert utc_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc_datetime(None) is None
    for odd in (1e300, float("nan"), float("inf"), -1e300):
        assert utc_datetime(odd) is None
