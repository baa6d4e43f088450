"""Every key of a session carries the session key as a hash tag, so a Redis Cluster keeps them in
one slot; and a session written before 0.2, under the old names, survives the upgrade."""

import asyncio

import pytest
from redis.crc import key_slot

from accounts.sessions.async_read import aclose_redis, aload_snapshot
from accounts.sessions.keys import refresh_lock_key
from tests.accounts.test_login_flow import login

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def keys_of(redis_client, session_key):
    return sorted(k.decode() for k in redis_client.keys("*") if session_key.encode() in k)


def as_before_the_upgrade(redis_client, session_key):
    """Rename a session's keys to the names 0.1 gave them (no braces); return their TTLs."""
    ttls = {}
    for key in keys_of(redis_client, session_key):
        old = key.replace("{" + session_key + "}", session_key)
        ttls[old] = redis_client.pttl(key)
        redis_client.rename(key, old)
    return ttls


def session_info(client):
    return client.get("/auth/session/", HTTP_ACCEPT="application/json").json()


def test_a_sessions_keys_and_its_refresh_lock_share_one_slot(client, oidc_settings, redis_client):
    login(client)
    session_key = client.cookies["sessionid"].value
    keys = keys_of(redis_client, session_key)
    assert [k.rsplit("}", 1)[1] for k in keys] == ["", ":activity", ":tokens"]
    assert all("{" + session_key + "}" in k for k in keys)
    slots = {key_slot(k.encode()) for k in [*keys, refresh_lock_key(session_key)]}
    assert len(slots) == 1


def test_a_session_written_before_the_upgrade_stays_logged_in(client, oidc_settings, redis_client):
    login(client)
    before = session_info(client)
    session_key = client.cookies["sessionid"].value
    ttls = as_before_the_upgrade(redis_client, session_key)
    assert len(ttls) == 3
    assert not any("{" in k for k in keys_of(redis_client, session_key))

    after = session_info(client)
    assert after["authenticated"] is True
    assert after["user"] == before["user"]
    assert after["expires"]["absolute"] == before["expires"]["absolute"]  # the same session
    assert client.get("/account/").status_code == 200

    moved = keys_of(redis_client, session_key)
    assert all("{" + session_key + "}" in k for k in moved)  # under today's names only
    for old, ttl in ttls.items():
        new = old.replace(session_key, "{" + session_key + "}")
        assert ttl - 5000 < redis_client.pttl(new) <= ttl  # the TTL came along


def test_the_async_edge_reads_a_session_written_before_the_upgrade(
    client, oidc_settings, redis_client
):
    login(client)
    session_key = client.cookies["sessionid"].value
    as_before_the_upgrade(redis_client, session_key)

    async def read():
        try:
            return await aload_snapshot(session_key)
        finally:
            await aclose_redis()

    snapshot = asyncio.run(read())
    assert snapshot.session_key == session_key
    assert snapshot.data is not None
    assert "_auth_user_id" in snapshot.data
    assert snapshot.records["tokens"] is not None
    assert snapshot.records["activity"] is not None
    assert all("{" + session_key + "}" in k for k in keys_of(redis_client, session_key))


def test_a_key_that_names_no_session_under_either_name_creates_nothing(
    client, oidc_settings, redis_client
):
    client.cookies["sessionid"] = "n" * 32
    assert session_info(client) == {"authenticated": False}
    assert keys_of(redis_client, "n" * 32) == []
