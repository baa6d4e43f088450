"""An upstream that names another API gets a token for that API; every proxied call is counted
by upstream and status for Prometheus."""

from typing import Any

import jwt
import pytest

from tests.conftest import SECOND_API
from tests.proxy.conftest import login
from tests.stack import API_AUDIENCE

# Transactions committed: the live edge's threads read the database through their own
# connections (only when a session needs upkeep: the common path reads none).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CSRF: dict[str, Any] = {"HTTP_X_CSRF": "1"}


@pytest.fixture
def reports_upstream(proxy_settings, echo):
    proxy_settings.OIDC_AUDIENCE = API_AUDIENCE
    proxy_settings.OIDC_EXTRA_AUDIENCES = [SECOND_API]
    proxy_settings.PROXY_UPSTREAMS = {
        **proxy_settings.PROXY_UPSTREAMS,
        "reports": {"url": echo.url + "/reports", "audience": SECOND_API},
    }
    return proxy_settings


def audience(token):
    return jwt.decode(token, options={"verify_signature": False})["aud"]


def test_an_upstream_for_another_api_gets_a_token_for_it(
    reports_upstream,
    echo,
    provider,
    make_client,
):
    alice = login(make_client())
    assert alice.get("/api/proxy/reports/weekly", **CSRF).status_code == 200
    assert alice.get("/api/proxy/echo/x", **CSRF).status_code == 200
    reports_call, echo_call = echo.arrivals
    assert audience(reports_call.bearer) == SECOND_API
    assert audience(echo_call.bearer) == API_AUDIENCE


def test_proxied_calls_are_counted_by_upstream_and_status(
    proxy_settings,
    settings,
    echo,
    make_client,
):
    settings.METRICS_TOKEN = "scrape-secret"

    def count(series):
        body = make_client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").content
        for line in body.decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split()[1])
        return 0.0

    ok = 'bff_proxy_requests_total{status="200",upstream="public"}'
    refused = 'bff_proxy_requests_total{status="403",upstream="public"}'
    unknown = 'bff_proxy_requests_total{status="404",upstream="(unknown)"}'
    before = {s: count(s) for s in (ok, refused, unknown)}
    anonymous = make_client()
    anonymous.get("/api/proxy/public/a", **CSRF)
    anonymous.get("/api/proxy/public/a")  # no CSRF header
    anonymous.get("/api/proxy/no-such-upstream-1/a", **CSRF)
    anonymous.get("/api/proxy/no-such-upstream-2/a", **CSRF)
    assert count(ok) - before[ok] == 1
    assert count(refused) - before[refused] == 1
    assert count(unknown) - before[unknown] == 2
    assert count('bff_proxy_upstream_seconds_count{upstream="public"}') >= 1
