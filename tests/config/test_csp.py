"""The Content-Security-Policy header: on every page the site renders (error pages and the admin
included), with a fresh nonce that the page's inline style and script carry; never on JSON or
streamed bodies, which never make a nonce at all."""

import copy
import re

import pytest
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template import engines
from django.test import Client, RequestFactory
from django.urls import path

from config.csp import (
    HEADER,
    ContentSecurityPolicyMiddleware,
    Nonce,
    directives,
    header_value,
    nonce_context,
)

pytestmark = pytest.mark.django_db

BASE = (
    "default-src 'self'; script-src 'self' 'nonce-{n}'; style-src 'self' 'nonce-{n}'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def header_nonce(response):
    found = set(re.findall(r"'nonce-([^']+)'", response[HEADER]))
    assert len(found) == 1, response[HEADER]
    return found.pop()


def page_nonces(response):
    return set(re.findall(r'<(?:script|style)[^>]* nonce="([^"]*)"', response.content.decode()))


def assert_page_matches_header(response):
    assert response[HEADER] == BASE.format(n=header_nonce(response))
    assert page_nonces(response) == {header_nonce(response)}


# --- the policy itself --------------------------------------------------------------------


def test_the_base_policy_with_and_without_a_nonce():
    assert header_value(directives({}), "abc") == BASE.format(n="abc")
    without = header_value(directives({}), None)
    assert "nonce" not in without
    assert without.startswith("default-src 'self'; script-src 'self'; style-src 'self'; ")


def test_extra_sources_extend_a_directive_add_new_ones_and_replace_none():
    policy = directives(
        {
            "connect-src": ["https://api.example.com"],
            "img-src": ["https://cdn.example.com", "data:"],
            "frame-ancestors": ["https://portal.example.com"],
            "upgrade-insecure-requests": [],
        }
    )
    value = header_value(policy, None)
    assert "img-src 'self' data: https://cdn.example.com;" in value
    assert "frame-ancestors https://portal.example.com;" in value
    assert value.endswith("connect-src https://api.example.com; upgrade-insecure-requests")


def test_a_nonce_is_made_on_first_use_and_kept():
    nonce = Nonce()
    assert nonce.used is None
    value = str(nonce)
    assert len(value) >= 22  # 16 random bytes, base64url
    assert str(nonce) == value
    assert nonce.used == value


# --- the middleware around dummy views -------------------------------------------------------


def run(view):
    request = RequestFactory().get("/")
    response = ContentSecurityPolicyMiddleware(view)(request)
    return request, response


def render_nonce(request):
    template = engines["django"].from_string('<script nonce="{{ csp_nonce }}"></script>')
    return HttpResponse(template.render({}, request))


def test_html_gets_the_header_with_the_nonce_the_page_used():
    request, response = run(render_nonce)
    nonce = request.csp_nonce.used
    assert nonce
    assert response[HEADER] == BASE.format(n=nonce)
    assert response.content.decode() == f'<script nonce="{nonce}"></script>'


def test_html_that_used_no_nonce_gets_a_policy_without_one():
    request, response = run(lambda request: HttpResponse("<p>plain</p>"))
    assert request.csp_nonce.used is None
    assert "'nonce-" not in response[HEADER]
    assert "script-src 'self';" in response[HEADER]


@pytest.mark.parametrize(
    "view",
    [
        lambda request: JsonResponse({"a": 1}),
        lambda request: StreamingHttpResponse(iter([b"<p>streamed</p>"])),
        lambda request: HttpResponse(b"\x00", content_type="application/octet-stream"),
    ],
    ids=["json", "streaming-html", "bytes"],
)
def test_no_header_and_no_nonce_on_what_is_no_page(view):
    request, response = run(view)
    assert HEADER not in response
    assert request.csp_nonce.used is None


def test_a_header_the_view_set_itself_is_kept():
    def view(request):
        response = HttpResponse("<p>embed me</p>")
        response[HEADER] = "frame-ancestors https://portal.example.com"
        return response

    _, response = run(view)
    assert response[HEADER] == "frame-ancestors https://portal.example.com"


def test_each_request_gets_a_fresh_nonce():
    nonces = {run(render_nonce)[0].csp_nonce.used for _ in range(5)}
    assert len(nonces) == 5


def test_extra_sources_are_read_on_each_request(settings):
    settings.CSP_EXTRA_SOURCES = {"connect-src": ["https://api.example.com"]}
    _, response = run(lambda request: HttpResponse("<p></p>"))
    assert response[HEADER].endswith("; connect-src https://api.example.com")


def test_the_context_processor_without_the_middleware_gives_an_empty_nonce():
    assert nonce_context(RequestFactory().get("/")) == {"csp_nonce": ""}


# --- the real site -------------------------------------------------------------------------


def test_the_home_page_style_carries_the_header_nonce(client):
    first = client.get("/")
    assert first.status_code == 200
    assert_page_matches_header(first)
    second = client.get("/")
    assert header_nonce(second) != header_nonce(first)


def test_a_logged_in_home_page_script_carries_the_header_nonce(client, django_user_model):
    client.force_login(django_user_model.objects.create(username="ada"))
    response = client.get("/")
    page = response.content.decode()
    assert f'<script nonce="{header_nonce(response)}">' in page
    assert_page_matches_header(response)


def test_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert_page_matches_header(response)


def test_400_page(client):
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()
    assert_page_matches_header(response)


def test_403_csrf_page():
    response = Client(enforce_csrf_checks=True).post("/auth/logout/")
    assert response.status_code == 403
    assert_page_matches_header(response)


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", boom)]
handler500 = "accounts.error_pages.server_error"


def test_500_page(settings):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert_page_matches_header(response)


def exploding_context_processor(request):
    raise RuntimeError("a context processor failed")


def test_500_page_survives_a_failing_context_processor(settings):
    settings.ROOT_URLCONF = __name__
    template_settings = copy.deepcopy(settings.TEMPLATES)
    template_settings[0]["OPTIONS"]["context_processors"].append(
        f"{__name__}.exploding_context_processor"
    )
    settings.TEMPLATES = template_settings
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_503_page_when_redis_is_down(client, dead_redis):
    client.cookies["sessionid"] = "a" * 32
    response = client.get("/")
    assert response.status_code == 503
    assert_page_matches_header(response)


def test_the_admin_login_page_gets_the_policy(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    # Django 5.2's admin uses no nonce; 6.x's marks its tags with the one our context gives.
    nonces = set(re.findall(r' nonce="([^"]*)"', response.content.decode()))
    if nonces:
        assert nonces == {header_nonce(response)}
        assert response[HEADER] == BASE.format(n=header_nonce(response))
    else:
        assert response[HEADER] == header_value(directives({}), None)
    assert "<script>" not in response.content.decode()


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/auth/session/", {}),
        ("/api/proxy/nowhere/x", {"HTTP_X_CSRF": "1"}),
        ("/healthz", {}),
    ],
)
def test_json_and_probes_get_no_header(client, url, headers):
    response = client.get(url, **headers)
    assert HEADER not in response
