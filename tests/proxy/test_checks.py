"""Each proxy system check ID fires on its misconfiguration and names the setting."""

import pytest
from django.core.management import call_command

from proxy import checks


def ids(messages):
    return {m.id for m in messages}


def test_the_test_configuration_passes_every_check(settings):
    settings.PROXY_UPSTREAMS = {"api": {"url": "http://127.0.0.1:8002"}}
    call_command("check", fail_level="ERROR")
    assert checks.check_upstreams(None) + checks.check_csrf_header(None) == []
    assert checks.check_set_cookie(None) == []


@pytest.mark.parametrize("value", [[], "http://x.test", None])
def test_e001_upstreams_not_a_mapping(settings, value):
    settings.PROXY_UPSTREAMS = value
    messages = checks.check_upstreams(None)
    assert ids(messages) == {"proxy.E001"}
    assert "PROXY_UPSTREAMS" in messages[0].msg


def test_e002_malformed_upstream(settings):
    settings.PROXY_UPSTREAMS = {"ok": "https://x.test", "bad": {"url": "x.test"}}
    messages = checks.check_upstreams(None)
    assert ids(messages) == {"proxy.E002"}
    assert "'bad'" in messages[0].msg


@pytest.mark.parametrize("name", ["", "Content-Type", "accept", "X CSRF", "X_CSRF", "Range"])
def test_e003_csrf_header_that_defends_nothing(settings, name):
    settings.PROXY_CSRF_HEADER = name
    messages = checks.check_csrf_header(None)
    assert ids(messages) == {"proxy.E003"}
    assert "PROXY_CSRF_HEADER" in messages[0].msg


def test_e003_accepts_custom_names(settings):
    for name in ("X-CSRF", "X-Requested-By"):
        settings.PROXY_CSRF_HEADER = name
        assert checks.check_csrf_header(None) == []


def test_w001_token_over_plain_http_beyond_loopback(settings):
    settings.PROXY_UPSTREAMS = {
        "far": "http://api.example.com",
        "anon": {"url": "http://api.example.com", "auth": "none"},
        "local": "http://127.0.0.1:8002",
        "localhost": "http://localhost:8002",
        "tls": "https://api.example.com",
    }
    messages = checks.check_upstreams(None)
    assert ids(messages) == {"proxy.W001"}
    assert len(messages) == 1
    assert "'far'" in messages[0].msg


def test_w002_set_cookie_forwarding(settings):
    settings.PROXY_FORWARD_SET_COOKIE = True
    assert ids(checks.check_set_cookie(None)) == {"proxy.W002"}
    settings.PROXY_FORWARD_SET_COOKIE = False
    assert checks.check_set_cookie(None) == []


def test_w003_websockets_without_a_site_url(settings):
    settings.PROXY_UPSTREAMS = {"live": {"url": "http://127.0.0.1:8003", "websocket": True}}
    assert checks.check_upstreams(None) == []
    settings.SITE_URL = ""
    messages = checks.check_upstreams(None)
    assert ids(messages) == {"proxy.W003"}
    assert "SITE_URL" in messages[0].msg


def pem_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def test_e008_a_dpop_upstream_needs_a_dpop_key(settings):
    settings.PROXY_UPSTREAMS = {"api": {"url": "http://127.0.0.1:8002", "dpop": True}}
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = ""
    messages = checks.check_upstreams(None)
    assert ids(messages) == {"proxy.E008"}
    assert "OIDC_DPOP_KEYS" in messages[0].msg
    settings.OIDC_DPOP_KEYS = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"
    assert ids(checks.check_upstreams(None)) == {"proxy.E008"}
    settings.OIDC_DPOP_KEYS = pem_key()
    assert checks.check_upstreams(None) == []


def test_w008_a_dpop_upstream_without_dpop_bound_tokens(settings):
    settings.PROXY_UPSTREAMS = {"api": {"url": "http://127.0.0.1:8002", "dpop": True}}
    settings.OIDC_DPOP_KEYS = pem_key()
    settings.OIDC_USE_DPOP = False
    messages = checks.check_upstreams(None)
    assert ids(messages) == {"proxy.W008"}
    assert "OIDC_USE_DPOP" in messages[0].msg
    # What it costs: every logged-in call to that upstream is refused unsent.
    assert "503 dpop_unavailable" in messages[0].msg
