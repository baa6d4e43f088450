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
