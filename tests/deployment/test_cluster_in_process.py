"""The session store, the refresh lock, the index, the edge's reader and its session watch on a
real Redis Cluster (three primaries, three replicas), with this process's settings pointed at it
as ``REDIS_CLUSTER=1`` points a site: login and logout, a refresh, the one ``MGET`` per request,
and the end of a session heard on another node than the one it was published on."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from django.contrib.auth.models import User
from redis.crc import key_slot

from accounts.edge import session_watch
from accounts.sessions import live, shared_copies
from accounts.sessions.async_read import aclose_redis, aload_snapshot, async_redis
from accounts.sessions.end_notices import publish_session_end
from accounts.sessions.keys import refresh_lock_key
from accounts.sessions.lifetimes import Policy
from accounts.sessions.store import SessionStore
from config.redis_caches import redis_caches
from tests.accounts.test_login_flow import login
from tests.deployment.redis_cluster import TestCluster

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = TestCluster(tmp_path_factory.mktemp("cluster")).start()
    yield started
    started.stop()


@pytest.fixture
def on_cluster(cluster, oidc_settings, monkeypatch):
    """This process's caches on the cluster, as config/redis_caches.py makes them for a site."""
    monkeypatch.setenv("REDIS_CLUSTER", "1")
    oidc_settings.CACHES = redis_caches(cluster.url(), "incluster")
    cluster.flush()
    shared_copies.forget()
    yield cluster
    shared_copies.forget()


def session_info(client):
    return client.get("/auth/session/", HTTP_ACCEPT="application/json").json()


def keys_of(cluster, session_key):
    return [k.decode() for k in cluster.keys(f"*{session_key}*")]


def test_login_logout_and_one_mget_per_request_on_a_cluster(client, on_cluster, redis_commands):
    login(client)
    session_key = client.cookies["sessionid"].value
    keys = keys_of(on_cluster, session_key)
    assert len(keys) == 3  # the session, its token record and its activity
    assert len({key_slot(k.encode()) for k in [*keys, refresh_lock_key(session_key)]}) == 1
    assert on_cluster.keys("incluster:user-sessions:*")  # the index, in slots of its own

    redis_commands.clear()
    assert session_info(client)["authenticated"] is True
    # One MGET for the session and its records; the policy comes from this process's copy.
    assert redis_commands == ["MGET"]

    csrf = client.cookies["csrftoken"].value
    assert client.post("/auth/logout/", HTTP_X_CSRFTOKEN=csrf).status_code == 302
    assert keys_of(on_cluster, session_key) == []
    assert session_info(client) == {"authenticated": False}
    assert on_cluster.keys("incluster:user-sessions:*") == []


def test_the_policy_is_read_once_a_second_not_once_a_request(client, on_cluster, redis_commands):
    login(client)
    shared_copies.forget()
    redis_commands.clear()
    for _ in range(3):
        assert session_info(client)["authenticated"] is True
    assert redis_commands == ["MGET", "GET", "MGET", "MGET"]

    # A policy saved by an admin elsewhere: this process sees it once its copy is a second old.
    stale = shared_copies.held(["policy"])["policy"]
    shorter = Policy(**{**stale.to_json(), "absolute_lifetime": 1.0})
    SessionStore()._cache.set("session-policy", shorter.to_json(), None)
    assert session_info(client)["authenticated"] is True  # the copy is still fresh
    time.sleep(shared_copies.MAX_AGE)
    ended = session_info(client)
    assert ended["error"] == "session_expired"  # ended by the new lifetime


def test_a_refresh_on_a_cluster_renews_once_and_reaches_the_replica(
    client, on_cluster, provider, settings, caplog
):
    from tests.accounts.tokens.test_refresh import expire_access_token, record_of

    login(client)
    provider.reset_stats()
    old = expire_access_token(client)
    settings.REDIS_WAIT_REPLICAS = 1
    settings.REDIS_WAIT_TIMEOUT_MS = 2000
    with caplog.at_level(logging.WARNING):
        assert client.get("/account/").status_code == 200
    assert record_of(client).refresh_token != old.refresh_token
    assert provider.stats()["refresh_grants"] == 1
    # WAIT went to the node holding the record, on the connection that wrote it: its replica
    # acknowledged, no warning.
    assert "replicas in time" not in caplog.text


def test_the_users_sessions_are_listed_and_ended_across_slots(client, on_cluster, settings):
    from django.test import Client

    login(client)
    other = Client()
    login(other)
    user = User.objects.get()
    found = live.sessions_of(user.pk)
    assert len(found) == 2
    assert len(live.all_sessions()) == 2  # the admin's list: a SCAN of every primary
    assert len({key_slot(f"{{{s.session_key}}}".encode()) for s in found}) == 2
    assert live.end_sessions_of(user.pk, reason="ended_by_user", keep=found[0].session_key) == 1
    assert [s.session_key for s in live.sessions_of(user.pk)] == [found[0].session_key]


def test_the_edge_reads_a_session_in_one_mget_on_a_cluster(client, on_cluster):
    login(client)
    session_key = client.cookies["sessionid"].value

    async def read():
        try:
            return await aload_snapshot(session_key), await aload_snapshot("n" * 32)
        finally:
            await aclose_redis()

    snapshot, nobody = asyncio.run(read())
    assert snapshot.data is not None
    assert snapshot.records["tokens"] is not None
    assert isinstance(snapshot.prefetched["policy"], Policy)
    assert nobody.data is None


def test_an_ended_session_is_heard_of_on_another_node(client, on_cluster, monkeypatch):
    """The watch listens on a replica; the notice is published on a primary. Without the sweep
    (made a minute long here) only the cluster-wide notice can tell the watch."""
    monkeypatch.setattr(session_watch, "SWEEP_SECONDS", 60.0)
    login(client)
    session_key = client.cookies["sessionid"].value

    async def watch_and_end():
        try:
            client_ = async_redis()
            await client_.initialize()
            replicas = [n for n in client_.get_nodes() if n.server_type == "replica"]
            watch = session_watch.session_end_watch()
            watch._failures = client_.get_nodes().index(replicas[0])
            await watch.stop()
            watch.start()
            async with session_watch.watch_session_end(session_key) as ended:
                await asyncio.wait_for(watch.subscribed.wait(), 10)
                started = time.monotonic()
                await asyncio.to_thread(publish_session_end, session_key)
                await asyncio.wait_for(ended.wait(), 5)
                return time.monotonic() - started
        finally:
            await session_watch.astop_session_watch()
            await aclose_redis()

    assert asyncio.run(watch_and_end()) < 1.0


def test_a_replayed_logout_token_is_refused_on_a_cluster(on_cluster):
    from accounts.exceptions import InvalidLogoutToken
    from accounts.oidc.logout_token import _refuse_replay

    _refuse_replay("jti-on-the-cluster", time.time() + 60)
    with pytest.raises(InvalidLogoutToken):
        _refuse_replay("jti-on-the-cluster", time.time() + 60)


def test_logins_in_progress_are_one_key_each_on_a_cluster(client, on_cluster, redis_commands):
    from tests.accounts.test_parallel_logins import at_provider, start

    redis_commands.clear()
    notes, account = start(client, "/notes/"), start(client, "/account/")
    # One SET each, nothing across slots; and no session to write.
    handshake = {"HELLO", "CLIENT", "CLUSTER SLOTS", "COMMAND"}  # a new connection's
    assert [c for c in redis_commands if c not in handshake] == ["SET", "SET"]
    assert len(on_cluster.keys("incluster:1:login-state:*")) == 2

    for callback, page in ((at_provider(account), "/account/"), (at_provider(notes), "/notes/")):
        done = client.get(callback)
        assert (done.status_code, done["Location"]) == (302, page)
    assert on_cluster.keys("incluster:1:login-state:*") == []
    assert session_info(client)["authenticated"] is True
