"""Ending a session on purpose: the hooks its records' owners registered run once, with the
records as they were, then the log line and the signal; from outside (by key) and in the
session's own request."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from accounts.exceptions import SessionEnded
from accounts.sessions import ending
from accounts.sessions.live import end_session_by_key, end_sessions_of, sessions_of
from accounts.sessions.store import SessionStore
from accounts.signals import session_ended

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks(monkeypatch):
    """Two hooks: one for ends from outside only (the default), one also in the request."""
    monkeypatch.setattr(ending, "_hooks", {})
    calls: dict[str, list[tuple[object, str]]] = {"outside": [], "everywhere": []}

    def outside(records, reason):
        calls["outside"].append((dict(records), reason))

    def everywhere(records, reason):
        calls["everywhere"].append((dict(records), reason))

    ending.on_session_end(outside)
    ending.on_session_end(everywhere, also_in_request=True)
    return calls


@pytest.fixture
def signalled():
    sent = []

    def receiver(sender, user, reason, **kwargs):
        sent.append((getattr(user, "username", None), reason))

    session_ended.connect(receiver)
    yield sent
    session_ended.disconnect(receiver)


@pytest.fixture
def alice():
    return User.objects.create_user("alice")


def session_of(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_a_session_ended_by_key_runs_every_hook_once_with_its_records(alice, hooks, signalled):
    key = session_of(alice)
    end_session_by_key(key, reason="revoked_by_admin")
    assert sessions_of(alice.pk) == []
    for name in ("outside", "everywhere"):
        [(records, reason)] = hooks[name]
        assert reason == "revoked_by_admin"
        assert records["activity"]["user_id"] == str(alice.pk)
        assert records["tokens"] is None  # a password login holds no tokens
    assert signalled == [("alice", "revoked_by_admin")]


def test_ending_all_of_a_users_sessions_but_one(alice, hooks, signalled):
    keep, other = session_of(alice), session_of(alice)
    assert end_sessions_of(alice.pk, reason="ended_by_user", keep=keep) == 1
    assert [s.session_key for s in sessions_of(alice.pk)] == [keep]
    assert [reason for _, reason in hooks["outside"]] == ["ended_by_user"]
    assert signalled == [("alice", "ended_by_user")]
    assert SessionStore().exists(other) is False


def test_a_session_ending_in_its_request_runs_only_the_hooks_that_asked(alice, hooks, signalled):
    request = RequestFactory().get("/account/")
    request.session = SessionStore(session_of(alice))
    request.user = alice
    with pytest.raises(SessionEnded) as raised:
        ending.end_session(request, "absolute_lifetime", "Your session has ended.")
    assert raised.value.reason == "absolute_lifetime"
    assert sessions_of(alice.pk) == []
    assert hooks["outside"] == []
    [(records, reason)] = hooks["everywhere"]
    assert (records["activity"]["user_id"], reason) == (str(alice.pk), "absolute_lifetime")
    assert signalled == [("alice", "absolute_lifetime")]


def test_ending_a_session_that_is_already_gone_still_tells_the_listeners(hooks, signalled):
    end_session_by_key("no-such-session", reason="backchannel_logout")
    [(records, reason)] = hooks["outside"]
    assert reason == "backchannel_logout"
    assert set(records.values()) == {None}
    assert signalled == [(None, "backchannel_logout")]


def test_logging_out_sends_session_ended_once_and_counts_once(alice, hooks, signalled, monkeypatch):
    from accounts.metrics import LOGOUTS

    monkeypatch.setattr("accounts.views.provider_logout_url", lambda record: None)
    counted = LOGOUTS.labels(reason="logged_out")
    before = counted._value.get()
    client = Client()
    client.force_login(alice)
    assert client.post("/auth/logout/").status_code == 302
    assert signalled == [("alice", "logged_out")]
    # The logout view revokes the refresh token itself: the hooks for ends from outside keep out.
    assert hooks["outside"] == []
    assert [reason for _, reason in hooks["everywhere"]] == ["logged_out"]
    assert counted._value.get() - before == 1
    assert sessions_of(alice.pk) == []


def test_logging_out_without_a_login_ends_nothing(hooks, signalled, monkeypatch):
    monkeypatch.setattr("accounts.views.provider_logout_url", lambda record: None)
    assert Client().post("/auth/logout/").status_code == 302
    assert signalled == []
    assert hooks["everywhere"] == []


def test_the_reasons_in_the_docs_are_the_reasons_in_the_code():
    import re
    from pathlib import Path

    from accounts.signals import SESSION_END_REASONS

    docs = (Path(__file__).resolve().parents[3] / "docs" / "extending.md").read_text()
    line = next(line for line in docs.splitlines() if line.startswith("`reason` is one of"))
    assert re.findall(r"`([a-z_]+)`", line.removeprefix("`reason`")) == list(SESSION_END_REASONS)
