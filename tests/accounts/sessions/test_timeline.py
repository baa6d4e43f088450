"""The sentences of the /account/session/ timeline: a set length reads as it was entered, a time
left in its two largest units."""

from accounts.sessions.activity import SessionActivity
from accounts.sessions.lifetimes import Policy
from accounts.sessions.timeline import axis_ticks, timeline

DAY = 86400.0
NOW = 1_700_000_000.0
POLICY = Policy(
    absolute_lifetime=7 * DAY,
    inactivity_timeout=DAY,
    activity_interval=60,
    refresh_skew=90,
    refresh_token_lifetime=None,
)


def sentences(activity):
    marks, _, _ = timeline(None, activity, POLICY, NOW)
    return {mark.key: mark.sentence for mark in marks}


def test_the_session_clocks_read_in_words():
    active = NOW - 5400  # logged in and last active 90 minutes ago
    said = sentences(SessionActivity("1", created_at=active, last_activity=active))
    assert said["inactivity"] == (
        "If you make no request, your session ends 2023-11-15 20:43:20 UTC (in 22 hours 30 "
        "minutes): 1 day after your last recorded activity, which is noted every 1 minute."
    )
    assert said["absolute"] == (
        "Your session ends 2023-11-21 20:43:20 UTC at the latest (in 6 days 22 hours), 7 days "
        "after you logged in, however active you are."
    )


def test_a_deadline_gone_by_reads_as_ago():
    long_ago = NOW - 2 * DAY - 3600
    said = sentences(SessionActivity("1", created_at=long_ago, last_activity=long_ago))
    assert "(1 day 1 hour ago)" in said["inactivity"]


def test_the_axis_is_labelled_in_time_since_login_because_it_is_not_linear():
    created = NOW - 5400
    activity = SessionActivity("1", created_at=created, last_activity=created)
    marks, _, height = timeline(None, activity, POLICY, NOW)
    ticks = axis_ticks(activity, marks)
    # The session's absolute end (7 days) is the farthest mark: no label beyond it.
    assert [t.label for t in ticks] == [
        "login",
        "+1 min",
        "+10 min",
        "+1 h",
        "+6 h",
        "+1 day",
        "+7 days",
    ]
    xs = [t.x for t in ticks]
    assert xs == sorted(xs)
    assert xs[-1] == next(m.x for m in marks if m.key == "absolute")
    # Not linear: the first hour takes more room than the six days after the first day.
    assert xs[3] - xs[0] > xs[6] - xs[5]
    assert height > 20 + len(marks) * 30  # room for the labels under the marks
