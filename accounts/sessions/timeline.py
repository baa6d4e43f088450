"""The session timeline shown at /account/session/: each deadline, placed on a logarithmic SVG
axis labelled in time since login, with a plain sentence saying what happens then. Pure functions
of the records and the policy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from accounts.sessions.activity import SessionActivity
from accounts.sessions.lifetimes import Policy, deadlines
from accounts.sessions.lifetimes import human_duration as human


class TokenTimes(Protocol):
    """What the timeline needs of the token record: when each token expires."""

    @property
    def refresh_token(self) -> str | None: ...

    @property
    def access_token_expires_at(self) -> float | None: ...

    @property
    def id_token_expires_at(self) -> float | None: ...

    @property
    def refresh_token_expires_at(self) -> float | None: ...


WIDTH = 720
LEFT = 170  # room for the labels
ROW = 30
AXIS = 24  # the row of tick labels under the marks


@dataclass(frozen=True)
class Mark:
    key: str
    label: str
    at: float | None
    sentence: str
    x: float = 0.0
    y: float = 0.0

    @property
    def label_x(self) -> float:
        # Labels of marks near the right edge go to the left of their dot.
        return self.x - 10 if self.x > WIDTH * 0.6 else self.x + 10

    @property
    def label_anchor(self) -> str:
        return "end" if self.x > WIDTH * 0.6 else "start"

    @property
    def when(self) -> str:
        return _stamp(self.at) if self.at is not None else "unknown"


def timeline(
    record: TokenTimes | None, activity: SessionActivity, policy: Policy, now: float
) -> tuple[list[Mark], float, int]:
    """The marks (in display order), the x of "now", and the picture's height."""
    clocks = deadlines(activity.created_at, activity.last_activity, policy)
    marks = [
        Mark("now", "Now", now, f"It is now {_stamp(now)}."),
        _access(record, policy, now),
        _id_token(record, now),
        _refresh(record, now),
        Mark(
            "absolute",
            "Session (absolute)",
            clocks.absolute,
            f"Your session ends {_stamp(clocks.absolute)} at the latest "
            f"({_in(clocks.absolute, now)}), {human(policy.absolute_lifetime)} after you logged "
            "in, however active you are.",
        ),
        Mark(
            "inactivity",
            "Session (inactivity)",
            clocks.inactivity,
            f"If you make no request, your session ends {_stamp(clocks.inactivity)} "
            f"({_in(clocks.inactivity, now)}): {human(policy.inactivity_timeout)} after your "
            f"last recorded activity, which is noted every {human(policy.activity_interval)}.",
        ),
    ]
    start, span = _extent(activity, marks)
    placed = [
        Mark(
            m.key,
            m.label,
            m.at,
            m.sentence,
            _x(m.at, start, span) if m.at is not None else 0.0,
            20 + i * ROW,
        )
        for i, m in enumerate(marks)
    ]
    return placed, _x(now, start, span), 20 + len(marks) * ROW + AXIS


@dataclass(frozen=True)
class Tick:
    label: str
    x: float


# Where the axis is labelled, as time since login: on a logarithmic axis these fall roughly
# evenly apart, from the access token's minutes to a session's weeks.
_TICKS = (
    ("+1 min", 60),
    ("+10 min", 600),
    ("+1 h", 3600),
    ("+6 h", 6 * 3600),
    ("+1 day", 86400),
    ("+7 days", 7 * 86400),
    ("+30 days", 30 * 86400),
    ("+1 year", 365 * 86400),
    ("+10 years", 3650 * 86400),
)


def axis_ticks(activity: SessionActivity, marks: list[Mark]) -> list[Tick]:
    """The axis's labels: login, then steps of time since login that fit on it. The axis is not
    linear, so without them a reader would take equal distances for equal times."""
    start, span = _extent(activity, marks)
    ticks = [Tick("login", _x(activity.created_at, start, span))]
    for label, offset in _TICKS:
        at = activity.created_at + offset
        if at - start <= span:
            ticks.append(Tick(label, _x(at, start, span)))
    return ticks


def _extent(activity: SessionActivity, marks: list[Mark]) -> tuple[float, float]:
    known = [m.at for m in marks if m.at is not None]
    start, end = min([activity.created_at, *known]), max(known)
    return start, max(end - start, 1.0)


def _x(at: float, start: float, span: float) -> float:
    # A logarithmic axis: minutes-long token lifetimes and week-long sessions both stay readable
    # on one line. The page says so and labels the axis (axis_ticks).
    share = math.log1p(max(at - start, 0.0)) / math.log1p(span)
    return round(LEFT + (WIDTH - LEFT - 20) * share, 1)


def _access(record: TokenTimes | None, policy: Policy, now: float) -> Mark:
    at = record.access_token_expires_at if record else None
    if at is None:
        sentence = (
            "The provider did not say when your access token expires; it is renewed when an API "
            "rejects it."
        )
    else:
        sentence = (
            f"Your access token expires {_stamp(at)} ({_in(at, now)}). It is renewed "
            f"automatically {human(policy.refresh_skew)} before then, while your session "
            "lasts."
        )
    return Mark("access", "Access token", at, sentence)


def _id_token(record: TokenTimes | None, now: float) -> Mark:
    at = record.id_token_expires_at if record else None
    sentence = (
        f"Your ID token expires {_stamp(at)} ({_in(at, now)}). That does not end your session: "
        "it only dates the copy of your profile this site keeps."
        if at is not None
        else "This session holds no ID token."
    )
    return Mark("id", "ID token", at, sentence)


def _refresh(record: TokenTimes | None, now: float) -> Mark:
    at = record.refresh_token_expires_at if record else None
    if record is None or not record.refresh_token:
        sentence = (
            "This session holds no refresh token: when the access token expires you log in again."
        )
    elif at is None:
        sentence = (
            "The identity provider did not say when your refresh token expires; if it expires "
            "before your session does, you will be asked to log in again."
        )
    else:
        sentence = (
            f"Your refresh token expires {_stamp(at)} ({_in(at, now)}). After that your access "
            "token cannot be renewed and you will be asked to log in again."
        )
    return Mark("refresh", "Refresh token", at, sentence)


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _in(at: float, now: float) -> str:
    seconds = at - now
    if abs(seconds) < 1:
        return "now"
    text = human(abs(seconds), approximate=True)
    return f"in {text}" if seconds > 0 else f"{text} ago"
