"""Renewing tokens, in-process, against the real local provider and real Redis.

The access token's expiry is moved into the past in the stored record (a faked clock); the
refresh itself is real: the provider rotates the refresh token and counts the grants.
"""

import dataclasses
import json
import time

import pytest
import requests
from cryptography.fernet import Fernet

from accounts.sessions.store import SessionStore
from accounts.signals import session_ended, tokens_refreshed
from accounts.tokens.record import load_tokens, store_tokens
from tests.stack import leftover_keys, redis_dump, sign_in_at_provider, stored_token_records

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"


def login(client, username="alice"):
    start = client.get("/auth/login/")
    callback = sign_in_at_provider(
        requests.Session(), start["Location"], username, stop_at=CALLBACK
    )
    assert client.get(callback).status_code == 302


def session_of(client):
    return SessionStore(client.cookies["sessionid"].value)


def record_of(client):
    return load_tokens(session_of(client))


def expire_access_token(client, *, in_seconds=-1.0):
    session = session_of(client)
    record = load_tokens(session)
    assert record is not None
    # An hour-long token near its end (a token issued moments ago is never due: half its life
    # at least must have passed).
    expires_at = time.time() + in_seconds
    store_tokens(
        session,
        dataclasses.replace(
            record, access_token_expires_at=expires_at, obtained_at=expires_at - 3600
        ),
    )
    return record


@pytest.fixture
def signals():
    seen: dict[str, list[object]] = {"refreshed": [], "ended": []}

    def on_refreshed(sender, request, record, **kw):
        seen["refreshed"].append(record)

    def on_ended(sender, request, user, reason, **kw):
        seen["ended"].append(reason)

    tokens_refreshed.connect(on_refreshed)
    session_ended.connect(on_ended)
    yield seen
    tokens_refreshed.disconnect(on_refreshed)
    session_ended.disconnect(on_ended)


@pytest.fixture
def logged_in(client, oidc_settings, provider):
    login(client)
    provider.reset_stats()
    return client


def test_page_after_expiry_refreshes_once_and_user_stays_logged_in(logged_in, provider, signals):
    old = expire_access_token(logged_in)
    page = logged_in.get("/account/")
    assert page.status_code == 200
    assert "Alice" in page.content.decode()
    new = record_of(logged_in)
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token  # rotated
    assert new.access_token_expires_at > time.time() + 200
    assert logged_in.get("/account/").status_code == 200
    assert provider.stats() == {
        "refresh_grants": 1,
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }
    assert [r.access_token for r in signals["refreshed"]] == [new.access_token]


def test_token_expiring_within_the_skew_is_renewed_before_the_view(logged_in, provider):
    old = expire_access_token(logged_in, in_seconds=30)  # skew is 60 s
    assert logged_in.get("/auth/session/").status_code == 200
    assert record_of(logged_in).access_token != old.access_token
    assert provider.stats()["refresh_grants"] == 1


def test_a_fresh_token_costs_one_redis_round_trip_and_no_refresh(
    logged_in, provider, redis_commands
):
    assert logged_in.get("/account/").status_code == 200
    # The session and its token record arrive together; nothing is written back.
    assert redis_commands == ["MGET"]
    assert provider.stats()["refresh_grants"] == 0


def test_refresh_rejected_by_provider_ends_session_and_page_goes_to_login(
    logged_in, provider, redis_client, signals
):
    provider.revoke_grants("alice")
    expire_access_token(logged_in)
    response = logged_in.get("/account/?tab=1")
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/?next=%2Faccount%2F%3Ftab%3D1"
    assert leftover_keys(redis_client) == []
    assert signals["ended"] == ["refresh_token_rejected"]
    assert provider.stats()["refresh_grants"] == 1  # no retry loop


def test_refresh_rejected_gives_api_callers_401_json_with_login_url(logged_in, provider):
    provider.revoke_grants("alice")
    expire_access_token(logged_in)
    response = logged_in.get(
        "/auth/session/", HTTP_ACCEPT="application/json", HTTP_REFERER="http://testserver/notes"
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "session_expired",
        "message": "Your login has expired or was revoked; please log in again.",
        "login_url": "/auth/login/?next=%2Fnotes",
    }


def test_a_slow_request_saving_the_session_cannot_bring_back_a_rotated_refresh_token(
    logged_in, provider
):
    """The last-writer-wins pitfall: A loads, B refreshes, A saves its stale copy."""
    slow = session_of(logged_in)
    slow["theme"] = "dark"  # A has loaded the session (and the token record) and changes it
    stale = load_tokens(slow)

    expire_access_token(logged_in)
    assert logged_in.get("/account/").status_code == 200  # B refreshes: the token rotates
    renewed = record_of(logged_in)
    assert renewed.refresh_token != stale.refresh_token  # type: ignore[union-attr]

    slow.save()  # A finishes last
    after = session_of(logged_in)
    assert after["theme"] == "dark"
    assert load_tokens(after).refresh_token == renewed.refresh_token  # type: ignore[union-attr]
    # And the next expiry renews with the right token: the grant is intact.
    expire_access_token(logged_in)
    assert logged_in.get("/account/").status_code == 200
    assert provider.stats() == {
        "refresh_grants": 2,
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }


def test_refresh_does_not_clobber_session_keys_written_meanwhile(logged_in):
    expire_access_token(logged_in)
    other_tab = session_of(logged_in)
    other_tab["cart"] = ["book"]
    other_tab.save()
    assert logged_in.get("/account/").status_code == 200
    assert session_of(logged_in)["cart"] == ["book"]


def test_tokens_are_encrypted_and_keys_rotate_without_logging_anyone_out(
    logged_in, settings, redis_client, provider
):
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    assert logged_in.get("/account/").status_code == 200  # old records still read
    expire_access_token(logged_in)  # rewritten: now under the new key
    assert logged_in.get("/account/").status_code == 200
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    assert logged_in.get("/account/").status_code == 200


def test_a_record_no_key_can_read_ends_the_session_cleanly(
    logged_in, settings, redis_client, signals
):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = logged_in.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/")
    assert leftover_keys(redis_client) == []
    assert signals["ended"] == ["token_record_unreadable"]


def test_redis_dump_shows_no_token_in_clear(logged_in, redis_client):
    expire_access_token(logged_in)
    logged_in.get("/account/")
    (record,) = stored_token_records(redis_client).values()
    dump = redis_dump(redis_client)
    for token in (record["access_token"], record["id_token"], record["refresh_token"]):
        assert token.encode() not in dump
    assert json.loads(redis_client.get(next(iter(redis_client.keys("*:tokens"))))).startswith(
        "gAAAA"
    )


def test_token_records_wait_for_replicas_only_when_asked(
    logged_in, settings, redis_commands, caplog
):
    expire_access_token(logged_in)
    redis_commands.clear()
    assert logged_in.get("/account/").status_code == 200
    assert "WAIT" not in redis_commands

    settings.REDIS_WAIT_REPLICAS = 1
    settings.REDIS_WAIT_TIMEOUT_MS = 50
    expire_access_token(logged_in)
    redis_commands.clear()
    assert logged_in.get("/account/").status_code == 200
    assert "WAIT" in redis_commands
    # The test Redis has no replica: the write stands on the primary, with a warning.
    assert "reached 0 of 1 replicas" in caplog.text


def test_an_upstreams_rejections_renew_at_most_once_per_interval(logged_in, provider, settings):
    from django.contrib.auth import get_user
    from django.test import RequestFactory

    from accounts.api import get_access_token

    settings.OIDC_FORCED_REFRESH_INTERVAL = 1.0
    request = RequestFactory().get("/api/proxy/notes/x")
    request.session = session_of(logged_in)
    request.user = get_user(request)
    first = get_access_token(request)
    renewed = get_access_token(request, force=True)
    assert renewed != first
    # An upstream that goes on refusing gets the same fresh token, not a refresh per call.
    assert {get_access_token(request, force=True) for _ in range(5)} == {renewed}
    assert provider.stats()["refresh_grants"] == 1
    time.sleep(1.1)
    assert get_access_token(request, force=True) != renewed
    assert provider.stats()["refresh_grants"] == 2
