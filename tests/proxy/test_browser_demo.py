"""A person uses the home page's demo in a real browser: notes, a server-sent event stream and a
WebSocket echo, through the proxy, with the site under gunicorn, and its Content-Security-Policy
refusing nothing the page does."""

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


def test_notes_events_and_a_websocket_through_the_proxy(stack):
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

            # The WebSocket: the page's own Origin, the session cookie, the API's echo.
            expect(page.get_by_test_id("echo-status")).to_have_text("Connected.")
            page.get_by_test_id("echo-text").fill("hello over a socket")
            page.get_by_test_id("echo-send").click()
            expect(page.get_by_test_id("echoes").locator("li")).to_have_text(
                ["hello over a socket"]
            )
            reloaded = page.reload()
            assert reloaded is not None
            assert "content-security-policy" in reloaded.headers
            assert refused == []
        finally:
            browser.close()


def test_logging_out_in_another_tab_closes_the_pages_websocket(stack):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(stack.url + "/")
            page.get_by_test_id("login").click()
            page.locator("input[name=login]").fill("dave")
            page.locator("input[name=password]").fill("any password")
            page.get_by_role("button", name="Sign-in").click()
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_test_id("echo-status")).to_have_text("Connected.")

            other = context.new_page()
            other.goto(stack.url + "/")
            other.get_by_test_id("logout").click()
            # 4401 within the 5 s the proxy promises.
            expect(page.get_by_test_id("echo-status")).to_have_text(
                "Closed: your session ended. Log in again.", timeout=5_000
            )
        finally:
            browser.close()
