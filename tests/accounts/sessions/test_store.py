"""The session store as a storage engine: what is registered with it rides along with every
session, and its hooks run, against real Redis."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.sessions import records
from accounts.sessions.index import index_session, session_key_for_sid, session_keys_of
from accounts.sessions.store import SessionStore
from tests.stack import leftover_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(monkeypatch):
    """A record of a module that is not part of this app, registered for one test."""
    monkeypatch.setitem(records._records, "notes", None)
    return "notes"


def session_with(name, value):
    store = SessionStore()
    store["seen"] = True
    store.save()
    store.write_record(name, value)
    return store.session_key


def test_a_registered_record_rides_in_the_one_mget(notes, redis_commands):
    key = session_with(notes, {"text": "hello"})
    redis_commands.clear()
    store = SessionStore(key)
    assert store.read_record(notes) == {"text": "hello"}
    assert store["seen"] is True
    assert store.read_record("tokens") is None
    assert redis_commands == ["MGET"]


def test_an_unregistered_record_is_not_fetched_with_the_session(redis_commands):
    key = session_with("elsewhere", {"text": "hello"})
    redis_commands.clear()
    SessionStore(key).load()
    assert redis_commands == ["MGET"]
    assert SessionStore(key).read_record("elsewhere") == {"text": "hello"}  # read on its own
    assert redis_commands == ["MGET", "MGET", "GET"]


def test_cycle_key_moves_a_registered_record_to_the_new_key(notes, redis_client):
    old = session_with(notes, {"text": "hello"})
    store = SessionStore(old)
    store.cycle_key()
    assert store.session_key != old
    assert SessionStore(store.session_key).read_record(notes) == {"text": "hello"}
    assert not redis_client.exists(store.record_key(notes, old))


def test_a_registered_record_lives_and_dies_with_its_session(notes, redis_client):
    key = session_with(notes, {"text": "hello"})
    store = SessionStore(key)
    store.set_expiry(300)
    store.save()
    assert 290 < store._cache.ttl(store.record_key(notes)) <= 300  # type: ignore[attr-defined]
    store.delete()
    assert leftover_keys(redis_client) == []


def test_a_prefetched_value_comes_with_the_session_or_from_its_source(monkeypatch, redis_commands):
    loads = []
    monkeypatch.setitem(
        records._prefetches,
        "motd",
        records.Prefetch("motd", parse=lambda v: v, load=lambda: loads.append(1) or "from source"),  # type: ignore[func-returns-value]
    )
    key = session_with("elsewhere", 1)
    store = SessionStore(key)
    store.load()
    assert store.prefetched("motd") == "from source"  # not in Redis yet
    assert loads == [1]

    store._cache.set("motd", "from redis", None)
    redis_commands.clear()
    again = SessionStore(key)
    again.load()
    assert again.prefetched("motd") == "from redis"
    assert redis_commands == ["MGET"]
    assert loads == [1]


def test_the_first_cookie_age_rule_that_answers_sets_the_max_age(monkeypatch, settings):
    monkeypatch.setitem(records._cookie_age_rules, "tests.none", lambda store, held: None)
    monkeypatch.setitem(
        records._cookie_age_rules, "tests.notes", lambda store, held: 1234 if "n" in held else None
    )
    store = SessionStore()
    store.save()
    assert store.get_expiry_age() == settings.SESSION_COOKIE_AGE  # the rules held nothing
    monkeypatch.setitem(store._records, "n", 1)
    assert store.get_expiry_age() == 1234


@pytest.fixture
def alice():
    return User.objects.create_user("alice")


def logged_in_as(user, sid):
    client = Client()
    client.force_login(user)
    store = SessionStore(client.cookies["sessionid"].value)
    # What an OIDC login records: the provider's session id, indexed.
    store.write_record("activity", {**store.read_record("activity"), "sid": sid})
    assert store.session_key is not None
    index_session(user.pk, store.session_key, sid, 3600)
    return client, store.session_key


def test_logging_out_takes_the_session_out_of_the_index(alice, redis_client):
    client, key = logged_in_as(alice, "sid-1")
    assert session_keys_of(alice.pk, lambda k: True) == [key]
    assert client.post("/auth/logout/").status_code == 302
    assert session_keys_of(alice.pk, lambda k: True) == []
    assert session_key_for_sid("sid-1") is None
    assert leftover_keys(redis_client) == []


def test_a_cycled_key_leaves_the_index_too(alice):
    _, key = logged_in_as(alice, "sid-1")
    store = SessionStore(key)
    store.cycle_key()
    assert key not in session_keys_of(alice.pk, lambda k: True)


def test_a_delete_hook_gets_the_records_of_another_key_from_redis(notes, monkeypatch):
    seen = []
    monkeypatch.setitem(
        records._delete_hooks, "tests.seen", lambda key, held: seen.append((key, dict(held)))
    )
    key = session_with(notes, {"text": "hello"})
    SessionStore().delete(key)
    assert seen == [(key, {**dict.fromkeys(records.record_names()), notes: {"text": "hello"}})]


def test_registering_twice_registers_once(monkeypatch):
    monkeypatch.setattr(records, "_delete_hooks", {})
    monkeypatch.setattr(records, "_records", {})

    def hook(key, held):
        pass

    records.register_on_delete(hook)
    records.register_on_delete(hook)
    records.register_record("a")
    records.register_record("a")
    assert records.delete_hooks() == (hook,)
    assert records.record_names() == ("a",)
