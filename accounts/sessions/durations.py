"""Durations as people type them, one grammar for the admin, ``manage.py session_policy`` and the
docs: ``90s``, ``15m``, ``12h``, ``30d``, combined largest first (``1d12h``), a plain number of
seconds, or Django's own ``[DD] [HH:[MM:]]ss[.uuuuuu]``. Shown back in the short form (``7d``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_duration as parse_django_duration

FORMAT_HINT = "e.g. 90s, 15m, 12h, 30d or 1d12h (or [DD] [HH:[MM:]]ss)"

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_SHORT = re.compile(
    r"(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*"
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*s)?",
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    """``text`` as a duration; ``ValueError`` with a sentence that shows the format."""
    text = text.strip()
    match = _SHORT.fullmatch(text)
    parsed = None
    try:
        if text and match:
            seconds = sum(float(match[unit] or 0) * size for unit, size in _UNITS)
            return timedelta(seconds=seconds)
        if text:
            # Django's form (what the admin showed before): "7 00:00:00", "12:00:00", "90", and
            # ISO 8601. Django reads "" as zero: refused above.
            parsed = parse_django_duration(text)
    except OverflowError:
        pass
    if parsed is None:
        raise ValueError(f"{text!r} is not a duration: {FORMAT_HINT}.")
    return parsed


def format_duration(value: timedelta) -> str:
    """``value`` in the short form ``parse_duration`` reads: ``7d``, ``1d12h``, ``90s``."""
    if value < timedelta(0):
        return "-" + format_duration(-value)
    whole = int(value.total_seconds())
    parts = []
    for unit, size in _UNITS[:-1]:
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    seconds = whole + value.microseconds / 1_000_000
    if seconds or not parts:
        parts.append(f"{seconds:g}s")
    return "".join(parts)


class DurationField(forms.DurationField):
    """A form field that reads and shows durations in the short form, and says so."""

    def __init__(self, *, help_text: str = "", **kwargs: Any) -> None:
        hint = f"Write a duration, {FORMAT_HINT}."
        super().__init__(help_text=f"{help_text} {hint}".strip(), **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return format_duration(value) if isinstance(value, timedelta) else value

    def to_python(self, value: Any) -> timedelta | None:
        if value in self.empty_values:
            return None
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc
