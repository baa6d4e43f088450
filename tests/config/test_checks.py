"""The project's system checks: CSP_EXTRA_SOURCES may extend the policy, never loosen it into
'unsafe-inline' or 'unsafe-eval', and must be well-formed."""

import pytest
from django.core.checks import run_checks

from config import checks


def ids(messages):
    return {m.id for m in messages}


def test_the_default_policy_passes(settings):
    assert checks.check_csp_extra_sources(None) == []
    settings.CSP_EXTRA_SOURCES = {"connect-src": ["https://api.example.com"]}
    assert checks.check_csp_extra_sources(None) == []


@pytest.mark.parametrize(
    ("extra", "check_id"),
    [
        ({"script-src": ["'unsafe-inline'"]}, "config.E001"),
        ({"style-src": ["'UNSAFE-INLINE'"]}, "config.E001"),
        ({"default-src": ["'unsafe-eval'"]}, "config.E002"),
    ],
)
def test_unsafe_keywords(settings, extra, check_id):
    settings.CSP_EXTRA_SOURCES = extra
    messages = checks.check_csp_extra_sources(None)
    assert ids(messages) == {check_id}
    assert "CSP_EXTRA_SOURCES" in messages[0].msg
    assert messages[0].hint


@pytest.mark.parametrize(
    "extra",
    [
        ["connect-src https://api.example.com"],
        {"connect-src": "https://api.example.com"},
        {"connect-src": ["https://a.example.com; script-src *"]},
        {"connect-src": ["https://a.example.com https://b.example.com"]},
        {"Connect Src": ["https://a.example.com"]},
        {"connect-src": [42]},
    ],
)
def test_e003_malformed_extra_sources(settings, extra):
    settings.CSP_EXTRA_SOURCES = extra
    messages = checks.check_csp_extra_sources(None)
    assert ids(messages) == {"config.E003"}
    assert "CSP_EXTRA_SOURCES" in messages[0].msg


def test_the_check_is_registered(settings):
    settings.CSP_EXTRA_SOURCES = {"script-src": ["'unsafe-inline'"]}
    assert "config.E001" in ids(run_checks())
