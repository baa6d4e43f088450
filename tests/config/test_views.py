"""The site's own small pages: the home page's clean return from logout, the favicon."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", [{"state": "abc123"}, {"state": "abc", "iss": "https://op"}])
def test_the_return_from_the_providers_logout_lands_on_a_clean_address(client, query):
    response = client.get("/", query)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_other_query_strings_are_the_pages_own(client):
    assert client.get("/", {"state": "x", "tab": "2"}).status_code == 200
    assert client.get("/").status_code == 200


def test_the_favicon_is_served_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "max-age=86400" in response["Cache-Control"]
