"""Redis and the provider failing: a clear page with the right status, never a stack trace."""

import pytest

pytestmark = pytest.mark.django_db


def test_redis_down_gives_a_503_page_not_an_empty_session(client, dead_redis):
    client.cookies["sessionid"] = "a" * 32
    response = client.get("/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "Sessions are unavailable" in page
    assert "Traceback" not in page
    assert response["Retry-After"]


def test_redis_down_gives_503_json_to_api_callers(client, dead_redis):
    client.cookies["sessionid"] = "a" * 32
    response = client.get("/auth/session/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["error"] == "session_store_unavailable"


def test_redis_down_while_saving_the_session_is_a_503_page(oidc_settings, dead_redis):
    # /auth/login/ writes state into a new session: the failure comes from the session
    # middleware as it saves, outside any view, and still gets the 503 page.
    from django.test import Client

    response = Client(raise_request_exception=False).get("/auth/login/")
    assert response.status_code == 503
    assert "Sessions are unavailable" in response.content.decode()
