"""Password logins to the admin: throttled by axes, refused outright with
ACCOUNTS_PASSWORD_LOGIN off, and never in the way of a provider login."""

from datetime import timedelta

import pytest
import requests
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils import timezone

from accounts import checks
from accounts.admin_access.password_login import is_password_backend
from accounts.models import OIDCIdentity
from tests.accounts.test_login_flow import CALLBACK, login, start_login
from tests.logins_in_progress import change_entry, state_in
from tests.stack import sign_in_at_provider

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-for-tests"


@pytest.fixture
def root():
    return User.objects.create_superuser("root", "root@example.test", PASSWORD)


def post_login(client, password, username="root", **extra):
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


def logged_in(client):
    return "_auth_user_id" in client.session


def test_25_wrong_passwords_then_the_right_one_is_refused_until_the_cool_off_ends(
    client, root, monkeypatch
):
    statuses = [post_login(client, f"wrong-{n}").status_code for n in range(25)]
    # The default limit is 5: four form errors, then the lockout.
    assert statuses == [200] * 4 + [429] * 21
    refused = post_login(client, PASSWORD)
    assert refused.status_code == 429
    assert not logged_in(client)

    page = refused.content.decode()
    assert "Too many failed logins" in page
    assert "Try again in 15 minutes" in page
    assert "Error 429" in page
    assert refused["Retry-After"] == "900"
    assert refused["Cache-Control"] == "no-store"

    # 14 minutes after the last attempt: still locked.
    later = timezone.now() + timedelta(minutes=14)
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: later)
    assert post_login(client, PASSWORD).status_code == 429
    # 15 minutes after that (each attempt during a lockout starts the cool-off again): in.
    later += timedelta(minutes=15, seconds=1)
    response = post_login(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert logged_in(client)


def test_the_lockout_is_for_the_username_from_that_address_only(client, root):
    User.objects.create_user("other", password=PASSWORD)
    for n in range(5):
        post_login(client, f"wrong-{n}")
    assert post_login(client, PASSWORD).status_code == 429
    # The real admin elsewhere still gets in, as does another account from the same address.
    assert post_login(client, PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 302
    client.logout()
    assert post_login(client, PASSWORD, username="other").status_code == 200  # not staff


def test_the_limit_and_cool_off_are_settings(client, root, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    assert post_login(client, "wrong").status_code == 200
    locked = post_login(client, "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "60"
    assert "Try again in 1 minute," in locked.content.decode()


def test_an_api_caller_gets_json(client, root):
    for n in range(5):
        post_login(client, f"wrong-{n}")
    response = post_login(client, PASSWORD, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response.json()["error"] == "password_login_locked"


def test_a_successful_password_login_clears_the_count_and_is_logged(client, root):
    for n in range(4):
        post_login(client, f"wrong-{n}")
    assert post_login(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AccessLog.objects.filter(username="root").count() == 1


def test_oidc_callbacks_are_never_counted_nor_locked_out():
    request = RequestFactory().get("/auth/callback/")  # no code: the OIDC backend declines
    for _ in range(10):
        assert authenticate(request, nonce="n", code_verifier="v") is None
    assert not AccessAttempt.objects.exists()


@pytest.mark.integration
def test_a_provider_login_goes_through_a_locked_out_address(client, root, oidc_settings):
    for n in range(5):
        post_login(client, f"wrong-{n}")
    assert AccessAttempt.objects.get().failures_since_start == 5
    response = login(client, "alice", next_path="/account/")
    assert response.status_code == 302
    assert client.get("/auth/session/").json()["authenticated"] is True
    # Neither counted as a failure nor logged as a password login.
    assert AccessAttempt.objects.get().failures_since_start == 5
    assert not AccessLog.objects.exists()


@pytest.mark.integration
def test_a_failed_provider_login_is_not_counted(client, oidc_settings):
    authorize = start_login(client)
    callback = sign_in_at_provider(requests.Session(), authorize, "alice", stop_at=CALLBACK)
    change_entry(state_in(callback), nonce="not-the-nonce-that-was-sent")
    assert client.get(callback).status_code == 400
    assert not AccessAttempt.objects.exists()


def test_the_login_page_offers_the_provider_beside_the_password_form(client, settings):
    settings.OIDC_PROVIDER_DISPLAY_NAME = "Example SSO"
    page = client.get("/admin/login/?next=/admin/").content.decode()
    assert 'name="password"' in page
    assert 'href="/auth/login/?next=/admin/"' in page
    assert "Log in with Example SSO" in page


class TestPasswordLoginOff:
    @pytest.fixture(autouse=True)
    def _off(self, settings):
        settings.ACCOUNTS_PASSWORD_LOGIN = False

    def test_the_login_page_offers_only_the_provider(self, client):
        response = client.get("/admin/login/?next=/admin/")
        page = response.content.decode()
        assert response.status_code == 200
        assert 'name="password"' not in page
        assert "<form" not in page.split('id="content-main"')[1]
        assert 'href="/auth/login/?next=/admin/"' in page
        assert "Log in with the identity provider" in page

    def test_the_admin_sends_there_with_next(self, client):
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/admin/login/?next=/admin/"
        assert 'href="/auth/login/?next=/admin/"' in response.content.decode()

    def test_a_posted_password_is_refused_without_authenticating(self, client, root, monkeypatch):
        checked = []
        original = ModelBackend.authenticate

        def spy(self, *args, **kwargs):
            checked.append(kwargs)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(ModelBackend, "authenticate", spy)
        response = post_login(client, PASSWORD)
        assert response.status_code == 200
        assert "Password login is switched off" in response.content.decode()
        assert 'name="password"' not in response.content.decode()
        assert not logged_in(client)
        assert checked == []
        # Nor does any other way in to authenticate() take a password.
        assert authenticate(RequestFactory().post("/"), username="root", password=PASSWORD) is None
        assert checked == []

    def test_refused_posts_are_not_counted_as_failures(self, client, root):
        for _ in range(10):
            assert post_login(client, PASSWORD).status_code == 200
        assert not AccessAttempt.objects.exists()

    def test_a_password_session_from_before_ends(self, client, root, settings):
        settings.ACCOUNTS_PASSWORD_LOGIN = True
        client.force_login(root, backend="accounts.admin_access.password_login.PasswordBackend")
        assert client.get("/admin/").status_code == 200
        settings.ACCOUNTS_PASSWORD_LOGIN = False
        assert client.get("/admin/").status_code == 302


def test_password_backends_are_told_from_the_oidc_backend():
    assert is_password_backend("django.contrib.auth.backends.ModelBackend")
    assert is_password_backend("accounts.admin_access.password_login.PasswordBackend")
    assert not is_password_backend("accounts.oidc.backend.OIDCBackend")
    assert not is_password_backend("axes.backends.AxesStandaloneBackend")
    assert not is_password_backend("no.such.Backend")


def test_the_configuration_throttles_password_logins():
    assert checks.check_password_login_throttle(None) == []


def test_w005_password_logins_without_axes(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "accounts.oidc.backend.OIDCBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    messages = checks.check_password_login_throttle(None)
    assert [m.id for m in messages] == ["accounts.W005"]
    assert "not rate-limited" in messages[0].msg
    # After the password backend is too late: it has checked the password already.
    settings.AUTHENTICATION_BACKENDS = [
        "accounts.admin_access.password_login.PasswordBackend",
        "axes.backends.AxesStandaloneBackend",
    ]
    assert [m.id for m in checks.check_password_login_throttle(None)] == ["accounts.W005"]
    # Without password logins there is nothing to throttle.
    settings.ACCOUNTS_PASSWORD_LOGIN = False
    assert checks.check_password_login_throttle(None) == []


def test_w006_axes_handler_that_counts_oidc_logins(settings):
    settings.AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
    messages = checks.check_password_login_throttle(None)
    assert [m.id for m in messages] == ["accounts.W006"]
    assert "accounts.admin_access.lockout.PasswordLoginHandler" in str(messages[0].hint)


def test_w007_password_login_off_and_nobody_can_be_staff(settings, provider_identity):
    settings.ACCOUNTS_PASSWORD_LOGIN = False
    # A break-glass superuser does not count: it logs in with a password.
    User.objects.create_superuser("root", "root@example.test", PASSWORD)
    messages = checks.check_someone_can_be_staff(None, databases=["default"])
    assert [m.id for m in messages] == ["accounts.W007"]
    assert "ACCOUNTS_PASSWORD_LOGIN" in messages[0].msg
    # A staff user who logs in through the provider is a way in...
    User.objects.filter(pk=provider_identity.user.pk).update(is_staff=True)
    assert checks.check_someone_can_be_staff(None, databases=["default"]) == []
    # ...and so are staff groups.
    User.objects.filter(pk=provider_identity.user.pk).update(is_staff=False)
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_STAFF_GROUPS = ["bff-staff"]
    assert checks.check_someone_can_be_staff(None, databases=["default"]) == []
    # Without a database to look at (plain `check`) it stays quiet.
    settings.OIDC_STAFF_GROUPS = []
    assert checks.check_someone_can_be_staff(None) == []


@pytest.fixture
def provider_identity():
    user = User.objects.create_user("alice-0123456789")
    return OIDCIdentity.objects.create(user=user, issuer="https://login.test", subject="alice")
