"""A person in a real browser (Debian's Chromium) logs in at the provider's first level, opens a
page that needs its second, is sent through the provider's login again, and lands back on that
page with the higher level; and two tabs that log in at once each land on their own page. The
site under gunicorn with the example app's pages (``tests/extending/example_app.py``), the local
provider and Redis."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in_at_provider
from tests.stack import Provider, Site, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def example_site():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = Provider(
        redirect_uris=[f"{url}/auth/callback/"], post_logout_uris=[f"{url}/"]
    ).start()
    site = Site(
        provider,
        port,
        DJANGO_SETTINGS_MODULE="tests.site_settings",
        TEST_ROOT_URLCONF="tests.extending.example_app",
    ).start()
    yield site
    site.stop()
    provider.stop()


def sign_in(page, name="alice"):
    page.locator("input[name=login]").fill(name)
    page.locator("input[name=password]").fill("correct horse")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def session(page):
    return page.evaluate("fetch('/auth/session/').then(r => r.json())")


def test_a_page_that_needs_a_second_factor_steps_the_login_up(page, example_site):
    log_in_at_provider(page, example_site.url)
    assert page.evaluate("fetch('/whoami/').then(r => r.json())")["name"] == "Alice"

    page.goto(example_site.url + "/payouts/")
    # The provider's session is at the first level: it asks for a login again.
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.url.startswith(example_site.env["OIDC_ISSUER"])
    sign_in(page)

    expect(page.get_by_test_id("payouts")).to_have_text("Payouts")
    expect(page.get_by_test_id("acr")).to_have_text("urn:dev:loa:2")
    assert page.url == example_site.url + "/payouts/"
    assert session(page)["authenticated"] is True

    # The level holds for the session: the page opens again without the provider.
    page.goto(example_site.url + "/")
    page.goto(example_site.url + "/payouts/")
    expect(page.get_by_test_id("acr")).to_have_text("urn:dev:loa:2")
    assert page.url == example_site.url + "/payouts/"


def test_two_tabs_that_log_in_at_once_each_land_on_their_own_page(new_page, example_site):
    first = new_page()
    second = first.context.new_page()
    second.set_default_timeout(15_000)
    first.goto(example_site.url + "/auth/login/?next=/account/")
    second.goto(example_site.url + "/auth/login/?next=/account/session/")
    # Both tabs are at the provider's login form before either has finished.
    expect(first.locator("input[name=login]")).to_be_visible()
    expect(second.locator("input[name=login]")).to_be_visible()

    sign_in(second)
    expect(second.get_by_test_id("timeline")).to_be_visible()
    assert second.url == example_site.url + "/account/session/"
    sign_in(first)
    expect(first.get_by_test_id("account-name")).to_have_text("Alice")
    assert first.url == example_site.url + "/account/"
