"""A changed password ends the user's sessions at once (the proxy's fast path never reads the
user's row, so Django's own check on the next page view would come too late for it)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.sessions.live import sessions_of
from accounts.sessions.store import SessionStore
from accounts.signals import session_ended

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended():
    reasons = []

    def on_ended(sender, reason, **kwargs):
        reasons.append(reason)

    session_ended.connect(on_ended)
    yield reasons
    session_ended.disconnect(on_ended)


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def still_logged_in(client):
    return "_auth_user_id" in SessionStore(client.cookies["sessionid"].value).load()


def test_a_password_change_ends_every_session_of_the_user(ended):
    root = User.objects.create_user("root", password="old-password-1")
    other = User.objects.create_user("other", password="x")
    first, second, others = logged_in(root), logged_in(root), logged_in(other)
    assert len(sessions_of(root.pk)) == 2
    root.set_password("new-password-2")
    root.save()
    assert sessions_of(root.pk) == []
    assert ended == ["password_changed", "password_changed"]
    assert not still_logged_in(first)
    assert not still_logged_in(second)
    assert still_logged_in(others)


def test_saving_a_user_without_a_new_password_ends_nothing(ended):
    root = User.objects.create_user("root", password="same-password-1")
    client = logged_in(root)
    root.first_name = "Root"
    root.save()
    root.save(update_fields=["last_login"])
    assert ended == []
    assert still_logged_in(client)


def test_changing_ones_own_password_in_the_admin_keeps_one_logged_in(ended):
    root = User.objects.create_superuser("root", "root@example.test", "old-password-1")
    elsewhere = logged_in(root)
    client = Client()
    assert (
        client.post("/admin/login/", {"username": "root", "password": "old-password-1"}).status_code
        == 302
    )
    response = client.post(
        "/admin/password_change/",
        {
            "old_password": "old-password-1",
            "new_password1": "A-new-password-2",
            "new_password2": "A-new-password-2",
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200  # still logged in, with a new session key
    assert not still_logged_in(elsewhere)
