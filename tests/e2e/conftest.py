import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",  # the test run is root
    "--disable-gpu",
    # The machine has no network beyond loopback; these stop Chromium's background calls home.
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """Pages in separate browser contexts: separate people, separate cookie jars."""
    contexts = []

    def make():
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def log_in_at_provider(page, site_url, name="alice"):
    page.goto(site_url + "/")
    page.get_by_test_id("login").click()
    page.locator("input[name=login]").fill(name)
    page.locator("input[name=password]").fill("correct horse")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("greeting")).to_have_text(f"Hello, {name.capitalize()}")
