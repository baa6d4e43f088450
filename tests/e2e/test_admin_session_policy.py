"""An admin changes the inactivity timeout in the admin form; a user who then stays idle longer
than that is logged out. Real browser, gunicorn, provider and Redis; real time."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in_at_provider

pytestmark = pytest.mark.e2e


def test_admin_shortens_inactivity_and_an_idle_user_is_logged_out(new_page, site, provider):
    site.create_superuser("root", "admin-password-for-tests")
    admin = new_page()
    admin.goto(site.url + "/admin/accounts/sessionpolicy/")
    admin.locator("input[name=username]").fill("root")
    admin.locator("input[name=password]").fill("admin-password-for-tests")
    admin.locator("input[type=submit]").click()
    admin.locator("#id_inactivity_timeout").fill("6s")
    admin.locator("#id_activity_interval").fill("1s")
    admin.locator("input[name=_save]").click()
    expect(admin.locator("ul.messagelist")).to_contain_text("changed successfully")

    try:
        user = new_page()
        log_in_at_provider(user, site.url)

        # Active within the timeout (with room for a slow machine): still logged in.
        user.goto(site.url + "/account/")
        expect(user.get_by_test_id("account-name")).to_have_text("Alice")
        time.sleep(1.5)
        user.goto(site.url + "/account/")
        expect(user.get_by_test_id("account-name")).to_have_text("Alice")

        time.sleep(8)  # idle longer than the 6 s timeout
        user.goto(site.url + "/account/")
        # The session ended: the site sends the browser to log in again, at the provider.
        expect(user).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/"))
        user.goto(site.url + "/auth/session/")
        assert '"authenticated": false' in user.content()

    finally:
        # Restore the default for the other tests sharing this site.
        site.set_policy(inactivity_timeout="1d", activity_interval="60s")


def test_admin_ends_a_users_session_after_confirming_and_the_user_is_told(new_page, site, provider):
    site.create_superuser("sessions-admin", "admin-password-for-tests")
    user = new_page()
    log_in_at_provider(user, site.url)

    admin = new_page()
    admin.goto(site.url + "/admin/accounts/activesession/")
    admin.locator("input[name=username]").fill("sessions-admin")
    admin.locator("input[name=password]").fill("admin-password-for-tests")
    admin.locator("input[type=submit]").click()
    # The admin's own session is marked; a part of Alice's generated username finds hers.
    expect(admin.get_by_test_id("this-session")).to_contain_text("this session")
    admin.locator("#user-filter").fill("ALI")
    admin.get_by_role("button", name="Filter").click()
    # All of hers: other tests on this site may have left sessions of Alice's too.
    admin.get_by_test_id("revoke-all").click()
    expect(admin.get_by_test_id("confirm-question")).to_contain_text("session(s) of alice")
    admin.get_by_test_id("confirm-end").click()
    expect(admin.locator("ul.messagelist")).to_contain_text("of alice")

    # Back with the ended session's cookie: sent to log in, and told why afterwards.
    user.goto(site.url + "/account/")
    if user.url.startswith(provider.issuer):
        if user.locator("input[name=login]").count():
            user.locator("input[name=login]").fill("alice")
            user.locator("input[name=password]").fill("correct horse")
            user.get_by_role("button", name="Sign-in").click()
        consent = user.get_by_role("button", name="Continue")
        consent.wait_for(timeout=5000)
        consent.click()
    expect(user.get_by_test_id("message")).to_have_text(
        "Your previous session was ended by an administrator."
    )
    expect(user.get_by_test_id("account-name")).to_have_text("Alice")
