"""The refresh token of an ended session is revoked at the provider (docs/sessions.md promises
it), whether the session was ended from outside or its lifetime ran out in its own request;
not when the token is dead already (rejected, or unreadable)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from accounts.exceptions import SessionEnded
from accounts.sessions.ending import end_session
from accounts.sessions.live import end_session_by_key, sessions_of
from accounts.sessions.store import SessionStore
from accounts.tokens.record import TokenRecord, store_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "accounts.tokens.revoke_on_end.revoke_refresh_token", lambda token: sent.append(token)
    )
    return sent


@pytest.fixture
def alice():
    return User.objects.create_user("alice")


def session_with_tokens(user, refresh_token="refresh-1"):  # noqa: S107 - a fake
    client = Client()
    client.force_login(user)
    store = SessionStore(client.cookies["sessionid"].value)
    record = TokenRecord.from_token_response(
        {"access_token": "access-1", "id_token": "id-1", "refresh_token": refresh_token},
        claims={"sub": "alice"},
    )
    store_tokens(store, record)
    return store.session_key


@pytest.mark.parametrize("reason", ["revoked_by_admin", "ended_by_user", "backchannel_logout"])
def test_a_session_ended_from_outside_has_its_refresh_token_revoked(alice, revoked, reason):
    end_session_by_key(session_with_tokens(alice), reason=reason)
    assert revoked == ["refresh-1"]
    assert sessions_of(alice.pk) == []


def end_in_its_own_request(user, reason):
    request = RequestFactory().get("/account/")
    request.session = SessionStore(session_with_tokens(user))
    request.user = user
    with pytest.raises(SessionEnded):
        end_session(request, reason, "Your session has ended.")


@pytest.mark.parametrize("reason", ["absolute_lifetime", "inactivity_timeout", "id_token_mismatch"])
def test_a_session_whose_lifetime_ran_out_has_its_refresh_token_revoked(alice, revoked, reason):
    end_in_its_own_request(alice, reason)
    assert revoked == ["refresh-1"]
    assert sessions_of(alice.pk) == []


@pytest.mark.parametrize("reason", ["refresh_token_rejected", "token_record_unreadable"])
def test_a_dead_refresh_token_is_not_revoked(alice, revoked, reason):
    end_in_its_own_request(alice, reason)
    assert revoked == []
    assert sessions_of(alice.pk) == []


def test_without_a_refresh_token_nothing_is_revoked(alice, revoked):
    end_session_by_key(session_with_tokens(alice, refresh_token=None), reason="ended_by_user")
    assert revoked == []


def test_an_unreadable_token_record_still_lets_the_session_end(alice, revoked):
    key = session_with_tokens(alice)
    SessionStore(key).write_record("tokens", "not a token record")
    end_session_by_key(key, reason="revoked_by_admin")
    assert revoked == []
    assert sessions_of(alice.pk) == []
