"""One grammar for durations: the admin, manage.py session_policy and the docs."""

import re
from datetime import timedelta

import pytest

from accounts.sessions.durations import DurationField, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d 12h 30m 5s", timedelta(days=1, hours=12, minutes=30, seconds=5)),
        ("1.5h", timedelta(minutes=90)),
        (" 7D ", timedelta(days=7)),
        ("90", timedelta(seconds=90)),  # a plain number is seconds
        ("7 00:00:00", timedelta(days=7)),  # Django's form, what the admin used to show
        ("00:01:00", timedelta(minutes=1)),
        ("1:30", timedelta(seconds=90)),
    ],
)
def test_durations_are_read_in_both_forms(text, value):
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["", "12x", "h", "1h1d", "soon", "99999999999d", "9999999999 0:0"])
def test_anything_else_is_refused_with_the_format(text):
    with pytest.raises(ValueError, match=re.escape("is not a duration: e.g. 90s, 15m, 12h, 30d")):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=7), "7d"),
        (timedelta(hours=12), "12h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(seconds=61), "1m1s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=-60), "-1m"),
    ],
)
def test_durations_are_shown_in_the_short_form_and_read_back(value, text):
    assert format_duration(value) == text
    assert parse_duration(text.lstrip("-")) == abs(value)


def test_the_form_field_shows_the_short_form_and_says_how_to_write_one():
    field = DurationField(help_text="A session ends this long after login.")
    assert field.prepare_value(timedelta(days=7)) == "7d"
    assert field.clean("12h") == timedelta(hours=12)
    assert field.help_text.startswith("A session ends this long after login. Write a duration")
    assert "12h" in field.help_text
    with pytest.raises(Exception, match="is not a duration"):
        field.clean("twelve hours")
