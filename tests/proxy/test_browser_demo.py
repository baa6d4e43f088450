"""A person uses the home page's demo in a real browser: notes and a server-sent event stream,
through the proxy, with the site under gunicorn, and its Content-Security-Policy refusing nothing
the page does."""

import pytest
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def test_notes_and_events_through_the_proxy(stack):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        refused = []

        def on_console(message):
            # The site's pages only; the provider's are its own business.
            if "Content Security Policy" in message.text and page.url.startswith(stack.url):
                refused.append(message.text)

        page.on("console", on_console)
        try:
            page.goto(stack.url + "/")
            page.get_by_test_id("login").click()
            page.locator("input[name=login]").fill("carol")
            page.locator("input[name=password]").fill("any password")
            page.get_by_role("button", name="Sign-in").click()
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_test_id("api-status")).to_have_text("No notes yet.")

            page.get_by_test_id("note-text").fill("<b>not bold</b>")
            page.get_by_test_id("add-note").click()
            expect(page.get_by_test_id("notes").locator("li")).to_have_text(["<b>not bold</b>"])

            page.get_by_test_id("stream").click()
            expect(page.get_by_test_id("api-status")).to_have_text("event 3 of 3 received")
            reloaded = page.reload()
            assert reloaded is not None
            assert "content-security-policy" in reloaded.headers
            assert refused == []
        finally:
            browser.close()
