"""A browser whose session was ended from outside is told why after it logs in again."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.sessions.tombstones import TOMBSTONE_TTL, tombstone_key
from tests.accounts.sessions.test_session_policy import login

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

ADMIN_ENDED = "Your previous session was ended by an administrator."
OTHER_DEVICE = "You logged this device out from another session."


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.test", "x"))
    return client


def end_all_of_alice(admin_client):
    user_id = User.objects.get(oidc_identities__subject="alice").pk
    admin_client.post(
        "/admin/accounts/activesession/revoke/", {"user": user_id, "all": "1", "confirm": "yes"}
    )


def test_a_user_whose_session_an_admin_ended_is_told_after_logging_in_again(
    oidc_settings, admin_client, redis_client
):
    alice = Client()
    login(alice)
    old_key = alice.cookies["sessionid"].value
    end_all_of_alice(admin_client)

    # The key itself is nowhere in Redis; the tombstone is named by its HMAC, for a day.
    assert not [k for k in redis_client.keys("*") if old_key.encode() in k]
    [stone] = redis_client.keys(f"*{tombstone_key(old_key)}")
    assert 0 < redis_client.ttl(stone) <= TOMBSTONE_TTL

    response = alice.get("/account/")
    assert response.status_code == 302  # sent to log in, as before
    login(alice)
    page = alice.get("/account/").content.decode()
    assert ADMIN_ENDED in page
    # Said once.
    assert ADMIN_ENDED not in alice.get("/account/").content.decode()


def test_a_device_logged_out_from_another_is_told_so(oidc_settings):
    here, there = Client(), Client()
    login(here)
    login(there)
    here.post("/account/session/end/", {"all": "1"})
    assert there.get("/auth/session/").json() == {"authenticated": False}
    login(there)
    assert OTHER_DEVICE in there.get("/account/").content.decode()
    # The device that did it is told nothing of the kind.
    assert OTHER_DEVICE not in here.get("/account/").content.decode()


def test_an_ordinary_logout_and_login_says_nothing(oidc_settings):
    alice = Client()
    login(alice)
    alice.post("/auth/logout/")
    login(alice)
    page = alice.get("/account/").content.decode()
    assert ADMIN_ENDED not in page
    assert OTHER_DEVICE not in page


def test_the_tombstone_costs_a_round_trip_only_when_the_session_is_gone(
    oidc_settings, admin_client, redis_commands
):
    alice = Client()
    login(alice)
    redis_commands.clear()
    alice.get("/auth/session/")
    assert redis_commands == ["MGET"]  # a live session: one MGET, nothing more

    end_all_of_alice(admin_client)
    redis_commands.clear()
    alice.get("/auth/session/")
    # Gone: a session written before 0.2 is looked for under its old names (EVAL), then the
    # tombstone is read.
    assert redis_commands == ["MGET", "EVAL", "GET"]
    stranger = Client()
    stranger.cookies["sessionid"] = "x" * 32
    redis_commands.clear()
    assert stranger.get("/auth/session/").json() == {"authenticated": False}
    assert redis_commands == ["MGET", "EVAL", "GET"]
    assert not re.search("x{32}", str(stranger.cookies))  # a made-up key is not kept
