"""Times that arrive in JSON from someone else (a provider's ``exp``, ``auth_time`` and
``expires_in``, a client's DPoP ``iat``), read so that no value can break what is done with it.

JSON numbers have no range: ``10**400`` overflows a float, ``1e300`` a date, and Python's JSON
reader takes ``NaN``, which fails every comparison (a NaN ``auth_time`` is never "too old"). So a
time is checked against plain bounds before any arithmetic, and whatever falls outside is no
time at all (None), which each caller already knows how to treat: unknown. Free of Django.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# The last second a date can show (9999-12-31T23:59:59Z): any time a page may print is before it.
LATEST = 253_402_300_799.0


def numeric_date(value: Any) -> float | None:
    """A NumericDate (RFC 7519 section 2) as seconds since the epoch: a JSON number after the
    epoch and no later than ``LATEST``; None for anything else (a bool, a string, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value <= LATEST:  # compares a huge int exactly, and is false for NaN
        return None
    return float(value)


def lifetime(value: Any) -> float | None:
    """A lifetime in seconds (``expires_in``, RFC 6749 section 5.1): a positive number, or a
    string of one (some providers send "3600"), short enough that now plus it is still a
    date; None for anything else."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value <= LATEST / 2:  # the epoch's second half is centuries away
        return None
    return float(value)


def utc_datetime(timestamp: float | None) -> datetime | None:
    """``timestamp`` as an aware UTC datetime, or None when there is none or it cannot be one
    (a value stored before the checks above)."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
