"""A person logs in and out in a real browser (Debian's Chromium, driven by Playwright), against
the site under gunicorn, the local provider and Redis."""

import json

import pytest
from playwright.sync_api import expect

from tests.stack import redis_dump, stored_token_records

pytestmark = pytest.mark.e2e


def token_record(redis_client):
    records = stored_token_records(redis_client)
    assert len(records) == 1, records.keys()
    return next(iter(records.values()))


def test_log_in_reload_and_log_out(page, site, redis_client):
    page.goto(site.url + "/")
    expect(page.get_by_test_id("greeting")).to_have_text("Welcome")

    page.get_by_test_id("login").click()
    page.locator("input[name=login]").fill("alice")
    page.locator("input[name=password]").fill("correct horse")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_test_id("greeting")).to_have_text("Hello, Alice")
    assert page.url == site.url + "/"

    page.reload()
    expect(page.get_by_test_id("greeting")).to_have_text("Hello, Alice")

    # The tokens are in Redis, beside the session, encrypted...
    tokens = token_record(redis_client)
    secrets = [tokens["access_token"], tokens["id_token"], tokens["refresh_token"]]
    assert all(secrets)
    dump = redis_dump(redis_client)
    assert not any(s.encode() in dump for s in secrets)
    # ...and no cookie the browser holds, for any site, carries any of them.
    cookies = page.context.cookies()
    assert any(c["name"] == "sessionid" for c in cookies)
    for cookie in cookies:
        for secret in secrets:
            assert secret not in cookie["value"]
            assert secret[:40] not in cookie["value"]
    session_cookie = next(c for c in cookies if c["name"] == "sessionid")
    assert session_cookie["httpOnly"] is True
    assert session_cookie["sameSite"] == "Lax"
    # Nor does anything the page's scripts can read.
    assert not any(s in page.evaluate("document.cookie") for s in secrets)
    session_json = page.evaluate("fetch('/auth/session/').then(r => r.text())")
    assert not any(s in session_json for s in secrets)
    assert json.loads(session_json)["user"]["name"] == "Alice"

    page.goto(site.url + "/account/")
    expect(page.get_by_test_id("account-name")).to_have_text("Alice")

    page.get_by_test_id("logout").click()
    # The provider asks whether to end its session too.
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.get_by_test_id("greeting")).to_have_text("Welcome")
    assert page.url.split("?")[0] == site.url + "/"  # with whatever state came back
    assert redis_client.keys("*:tokens") == []
    assert json.loads(page.evaluate("fetch('/auth/session/').then(r => r.text())")) == {
        "authenticated": False
    }
