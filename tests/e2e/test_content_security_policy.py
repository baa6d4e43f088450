"""The Content-Security-Policy in Chromium, against the site under gunicorn: the pages' own
scripts and styles run, a script injected without the nonce does not (and is reported), logout
still reaches the provider and comes back, and the admin works without a violation."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from playwright.sync_api import expect

from tests.e2e.conftest import log_in_at_provider

pytestmark = pytest.mark.e2e

# Runs in every document before its own scripts, outside the page's policy (Playwright adds it
# through the DevTools protocol): it records what the policy refused.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""

INJECT = """(nonce) => new Promise((resolve) => {
  const script = document.createElement("script");
  if (nonce) script.nonce = nonce;
  script.textContent = "window.injectedRan = true;";
  document.body.append(script);
  // Inline scripts run as they are inserted; a violation event is queued as a task.
  setTimeout(() => resolve(window.injectedRan === true), 100);
})"""


@pytest.fixture
def watched(page, site):
    """The page, with violations recorded and the site's console reports of them collected."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = []

    def on_console(message):
        # Chromium gives these reports no location; the page's address says whose they are.
        if "Content Security Policy" in message.text and page.url.startswith(site.url):
            page.csp_console.append(message.text)

    page.on("console", on_console)
    return page


def violations(page):
    return page.evaluate("window.cspViolations")


def serve_static(page, site):
    """What the web server in front does in production (docs/deployment.md): /static/ from the
    apps' static files, so the admin's own scripts and stylesheets load and run."""

    def handle(route):
        found = finders.find(urlsplit(route.request.url).path.removeprefix("/static/"))
        if found:
            route.fulfill(path=Path(found))
        else:
            route.fulfill(status=404)

    page.route(re.compile("^" + re.escape(site.url) + "/static/"), handle)


def test_the_home_page_runs_its_own_script_and_refuses_an_injected_one(watched, site):
    page = watched
    log_in_at_provider(page, site.url)
    response = page.goto(site.url + "/")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    found = re.search(r"'nonce-([^']+)'", policy)
    assert found is not None
    nonce = found.group(1)

    # The demo's script ran: it called the proxy and wrote what came back (this site has no
    # "notes" upstream, so the proxy's 404) into the page.
    expect(page.get_by_test_id("api-status")).to_have_text("404 from the API")
    # The stylesheet applied: the header is laid out by the nonce'd <style>.
    assert page.evaluate("getComputedStyle(document.querySelector('header')).display") == "flex"
    assert violations(page) == []

    # A script added to the real page without the nonce does not run, and is reported...
    assert page.evaluate(INJECT, None) is False
    reported = violations(page)
    assert len(reported) == 1
    assert reported[0].startswith("script-src")
    assert " inline " in reported[0]
    # ...while the same script carrying the page's nonce does: the nonce is what decides.
    assert page.evaluate(INJECT, nonce) is True
    assert page.csp_console  # Chromium's own report, on the console


def test_an_injected_inline_style_attribute_is_refused(watched, site):
    page = watched
    page.goto(site.url + "/")
    applied = page.evaluate(
        """() => {
          const box = document.createElement("div");
          box.setAttribute("style", "display: none");
          document.body.append(box);
          return getComputedStyle(box).display;
        }"""
    )
    assert applied == "block"
    assert [v for v in violations(page) if v.startswith("style-src")]


def test_logout_reaches_the_provider_and_comes_back(watched, site):
    page = watched
    log_in_at_provider(page, site.url)
    page.get_by_test_id("logout").click()
    # The form's POST redirects to the provider's end-session endpoint, another origin: no
    # form-action in the policy may stop it.
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.get_by_test_id("greeting")).to_have_text("Welcome")
    assert page.url.startswith(site.url + "/")
    assert violations(page) == []
    assert page.csp_console == []


def test_error_pages_are_styled_under_the_policy(watched, site):
    page = watched
    response = page.goto(site.url + "/no/such/page/")
    assert response.status == 404
    assert "content-security-policy" in response.headers
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    assert violations(page) == []


def test_the_admin_works_without_a_violation(watched, site):
    page = watched
    serve_static(page, site)
    site.create_superuser("csp-admin", "admin-password-for-tests")

    response = page.goto(site.url + "/admin/login/")
    assert "content-security-policy" in response.headers
    page.locator("input[name=username]").fill("csp-admin")
    page.locator("input[name=password]").fill("admin-password-for-tests")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    # The admin's stylesheet and its scripts ran (theme.js marks the document).
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex"
    expect(page.locator("html[data-theme]")).to_have_count(1)
    assert violations(page) == []

    for path, ready in [
        ("/admin/accounts/sessionpolicy/", "#id_inactivity_timeout"),
        ("/admin/accounts/activesession/", "[data-testid=sessions]"),
        ("/admin/accounts/oidcidentity/", "#changelist"),
    ]:
        response = page.goto(site.url + path)
        assert response.ok, path
        assert "content-security-policy" in response.headers, path
        expect(page.locator(ready)).to_be_visible()
        page.wait_for_load_state("load")
        assert violations(page) == [], path
    # The active sessions list's stylesheet (a file, not style attributes) applied.
    page.goto(site.url + "/admin/accounts/activesession/")
    margin = page.evaluate(
        "getComputedStyle(document.querySelector('form.session-filter')).marginBottom"
    )
    assert margin != "0px"
    assert page.csp_console == []
