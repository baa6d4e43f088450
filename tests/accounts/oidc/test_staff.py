"""Staff and superusers from the provider's groups claim, at every login."""

import pytest
from django.contrib.auth.models import User

from accounts import checks
from accounts.models import OIDCIdentity
from accounts.oidc.staff import staff_flags
from tests.accounts.test_login_flow import login


@pytest.fixture
def groups_settings(settings):
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_STAFF_GROUPS = ["bff-staff"]
    settings.OIDC_SUPERUSER_GROUPS = ["bff-admins"]
    return settings


@pytest.mark.parametrize(
    ("groups", "flags"),
    [
        (["bff-staff"], {"is_staff": True, "is_superuser": False}),
        (["bff-admins"], {"is_staff": True, "is_superuser": True}),
        ("bff-staff", {"is_staff": True, "is_superuser": False}),
        (["readers"], {"is_staff": False, "is_superuser": False}),
        ([], {"is_staff": False, "is_superuser": False}),
        (None, {"is_staff": False, "is_superuser": False}),  # claim absent
        ({"bff-admins": True}, {"is_staff": False, "is_superuser": False}),  # malformed
    ],
)
def test_flags_follow_the_groups(groups_settings, groups, flags):
    claims = {"sub": "x"} if groups is None else {"sub": "x", "groups": groups}
    assert staff_flags(claims) == flags


def test_flags_are_left_alone_without_the_settings(settings):
    settings.OIDC_GROUPS_CLAIM = "groups"
    assert staff_flags({"groups": ["bff-staff"]}) == {}


def test_only_staff_groups_leave_is_superuser_alone(groups_settings):
    groups_settings.OIDC_SUPERUSER_GROUPS = []
    assert staff_flags({"groups": ["bff-staff"]}) == {"is_staff": True}


@pytest.mark.django_db
@pytest.mark.integration
def test_the_staff_group_opens_the_admin_and_its_loss_closes_it(
    client, oidc_settings, groups_settings, provider
):
    groups_settings.ACCOUNTS_PASSWORD_LOGIN = False
    provider.set_groups("stafford", ["bff-staff", "readers"])
    try:
        assert login(client, "stafford", next_path="/admin/")["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200
        user = User.objects.get(oidc_identities__subject="stafford")
        assert (user.is_staff, user.is_superuser) == (True, False)

        provider.set_groups("stafford", [])
        client.logout()
        login(client, "stafford", next_path="/admin/")
        user.refresh_from_db()
        assert (user.is_staff, user.is_superuser) == (False, False)
        assert client.get("/admin/").status_code == 302
    finally:
        provider.set_groups("stafford", [])


@pytest.mark.django_db
@pytest.mark.integration
def test_staff_made_by_hand_survive_logins_without_the_settings(client, oidc_settings, provider):
    login(client, "handmade")
    User.objects.filter(oidc_identities__subject="handmade").update(is_staff=True)
    client.logout()
    login(client, "handmade")
    assert User.objects.get(oidc_identities__subject="handmade").is_staff
    assert OIDCIdentity.objects.filter(subject="handmade").count() == 1


@pytest.mark.parametrize("name", ["OIDC_STAFF_GROUPS", "OIDC_SUPERUSER_GROUPS"])
def test_e019_staff_groups_without_a_groups_claim(settings, name):
    settings.OIDC_GROUPS_CLAIM = ""
    setattr(settings, name, ["bff-staff"])
    messages = checks.check_staff_groups(None)
    assert [m.id for m in messages] == ["accounts.E019"]
    assert name in messages[0].msg
    assert "OIDC_GROUPS_CLAIM" in str(messages[0].hint)
    settings.OIDC_GROUPS_CLAIM = "groups"
    assert checks.check_staff_groups(None) == []
