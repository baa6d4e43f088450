"""Each system check ID fires on its misconfiguration and names the setting to fix."""

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from accounts import checks


def ids(messages):
    return {m.id for m in messages}


def test_the_test_configuration_passes_every_check():
    call_command("check", fail_level="ERROR")


def test_e001_missing_secret_key(settings):
    settings.SECRET_KEY = ""
    messages = checks.check_secret_key(None)
    assert ids(messages) == {"accounts.E001"}
    assert "DJANGO_SECRET_KEY" in messages[0].msg


@pytest.mark.parametrize(
    ("setting", "check_id"),
    [
        ("OIDC_ISSUER", "accounts.E002"),
        ("OIDC_CLIENT_ID", "accounts.E003"),
        ("OIDC_CLIENT_SECRET", "accounts.E004"),
    ],
)
def test_missing_oidc_values(settings, setting, check_id):
    setattr(settings, setting, "")
    messages = checks.check_oidc_client(None)
    assert ids(messages) == {check_id}
    assert setting in messages[0].msg


def test_all_missing_values_are_reported_at_once(settings):
    settings.OIDC_ISSUER = settings.OIDC_CLIENT_ID = settings.OIDC_CLIENT_SECRET = ""
    settings.SITE_URL = ""
    found = ids(run_checks())
    assert {"accounts.E002", "accounts.E003", "accounts.E004", "accounts.E005"} <= found


@pytest.mark.parametrize("value", ["", "127.0.0.1:8000", "ftp://site.test", "https://"])
def test_e005_site_url_must_be_absolute_http(settings, value):
    settings.SITE_URL = value
    assert ids(checks.check_site_url(None)) == {"accounts.E005"}


def test_e006_issuer_must_be_http_url(settings):
    settings.OIDC_ISSUER = "issuer.test"
    assert ids(checks.check_oidc_client(None)) == {"accounts.E006"}


def test_e007_unknown_provider_preset(settings):
    settings.OIDC_PROVIDER = "made-up"
    messages = checks.check_oidc_client(None)
    assert ids(messages) == {"accounts.E007"}
    assert "generic" in (messages[0].hint or "")


def test_e008_scopes_without_openid(settings):
    settings.OIDC_SCOPES = "profile email"
    assert ids(checks.check_oidc_client(None)) == {"accounts.E008"}


def test_e009_other_session_engine(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    assert ids(checks.check_session_engine(None)) == {"accounts.E009"}


def test_e010_samesite_strict_breaks_the_callback(settings):
    settings.SESSION_COOKIE_SAMESITE = "Strict"
    messages = checks.check_session_engine(None)
    assert ids(messages) == {"accounts.E010"}
    assert "callback" in (messages[0].hint or "")


def test_w001_plain_http_in_production(settings):
    settings.DEBUG = False
    settings.SITE_URL = "http://site.test"
    assert ids(checks.check_site_url(None)) == {"accounts.W001"}
    settings.SITE_URL = "https://site.test"
    assert checks.check_site_url(None) == []


def test_e011_production_needs_encryption_keys(settings):
    settings.DEBUG = False
    settings.TOKEN_ENCRYPTION_KEYS = []
    messages = checks.check_token_encryption_keys(None)
    assert ids(messages) == {"accounts.E011"}
    assert "TOKEN_ENCRYPTION_KEYS" in messages[0].msg


def test_w002_development_derives_a_key(settings):
    settings.DEBUG = True
    settings.TOKEN_ENCRYPTION_KEYS = []
    assert ids(checks.check_token_encryption_keys(None)) == {"accounts.W002"}


def test_e012_malformed_encryption_key(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [settings.TOKEN_ENCRYPTION_KEYS[0], "not-a-key"]
    messages = checks.check_token_encryption_keys(None)
    assert ids(messages) == {"accounts.E012"}
    assert "entry 2" in messages[0].msg


def test_e013_refresh_middleware_missing(settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "accounts.middleware.TokenRefreshMiddleware"
    ]
    assert ids(checks.check_middleware_order(None)) == {"accounts.E013"}


def test_e014_refresh_middleware_before_authentication(settings):
    order = [m for m in settings.MIDDLEWARE if m != "accounts.middleware.TokenRefreshMiddleware"]
    order.insert(1, "accounts.middleware.TokenRefreshMiddleware")
    settings.MIDDLEWARE = order
    messages = checks.check_middleware_order(None)
    assert ids(messages) == {"accounts.E014"}
    assert "out of order" in messages[0].msg


def test_e015_error_middleware_missing(settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "accounts.middleware.AccountsErrorMiddleware"
    ]
    assert ids(checks.check_middleware_order(None)) == {"accounts.E015"}


def test_e013_lifetime_middleware_missing(settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "accounts.middleware.SessionLifetimeMiddleware"
    ]
    messages = checks.check_middleware_order(None)
    assert ids(messages) == {"accounts.E013"}
    assert "SessionLifetimeMiddleware" in messages[0].msg


def test_w009_a_mozilla_setting_the_apps_carry_is_ignored(settings):
    settings.OIDC_USE_PKCE = False
    messages = checks.check_mozilla_oidc_settings(None)
    assert ids(messages) == {"accounts.W009"}
    assert "OIDC_USE_PKCE" in messages[0].msg


def test_w009_is_quiet_when_the_values_agree_or_are_unset(settings):
    settings.OIDC_USE_PKCE = True
    assert checks.check_mozilla_oidc_settings(None) == []


def test_the_login_and_callback_views_carry_pkce_and_the_callback_name(settings):
    from accounts.oidc.backend import OIDCBackend
    from accounts.views import CallbackView, LoginView

    for name in ("OIDC_USE_PKCE", "OIDC_AUTHENTICATION_CALLBACK_URL"):
        if hasattr(settings, name):
            delattr(settings, name)
    for cls in (LoginView, CallbackView, OIDCBackend):
        assert cls.get_settings("OIDC_USE_PKCE", False) is True
        assert cls.get_settings("OIDC_AUTHENTICATION_CALLBACK_URL") == "accounts:callback"
    # Anything else is still the project's, with mozilla's default.
    assert LoginView.get_settings("OIDC_STATE_SIZE", 32) == 32


@pytest.fixture
def no_audience(settings):
    settings.OIDC_AUDIENCE = ""
    return settings


def test_e020_the_drf_class_without_an_audience(no_audience):
    no_audience.REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.resource_server.drf.AccessTokenAuthentication"]
    }
    messages = checks.check_resource_server(None)
    assert ids(messages) == {"accounts.E020"}
    assert "RESOURCE_SERVER_AUDIENCE" in messages[0].msg
    no_audience.RESOURCE_SERVER_AUDIENCE = "https://api.example"
    assert checks.check_resource_server(None) == []


@pytest.mark.urls("tests.accounts.resource_server.token_views")
def test_e020_a_view_that_checks_tokens_without_an_audience(no_audience):
    assert ids(checks.check_resource_server(None)) == {"accounts.E020"}


def test_e020_is_quiet_for_a_project_that_checks_no_tokens(no_audience):
    assert checks.check_resource_server(None) == []


def test_e021_the_session_cache_must_serialize_with_json(settings):
    caches = {alias: dict(value) for alias, value in settings.CACHES.items()}
    alias = settings.SESSION_CACHE_ALIAS
    caches[alias]["OPTIONS"] = {
        k: v for k, v in caches[alias]["OPTIONS"].items() if k != "SERIALIZER"
    }
    settings.CACHES = caches
    messages = checks.check_session_cache_serializer(None)
    assert ids(messages) == {"accounts.E021"}
    assert "JSONSerializer" in (messages[0].hint or "")
    caches[alias]["OPTIONS"]["SERIALIZER"] = "django_redis.serializers.json.JSONSerializer"
    assert checks.check_session_cache_serializer(None) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RESOURCE_SERVER_DPOP_ALGORITHMS", ("HS256",)),
        ("RESOURCE_SERVER_DPOP_ALGORITHMS", ("none",)),
        ("RESOURCE_SERVER_DPOP_ALGORITHMS", ()),
        ("RESOURCE_SERVER_DPOP_IAT_WINDOW", 0),
        ("RESOURCE_SERVER_DPOP_IAT_WINDOW", "a minute"),
    ],
)
def test_e040_dpop_proofs_that_cannot_be_checked(settings, name, value):
    setattr(settings, name, value)
    messages = checks.check_resource_server_dpop(None)
    assert ids(messages) == {"accounts.E040"}
    assert "RESOURCE_SERVER_DPOP_ALGORITHMS" in messages[0].msg


def test_e041_the_replay_cache_must_be_a_configured_cache(settings):
    settings.RESOURCE_SERVER_DPOP_REPLAY_CACHE = "dpop"
    messages = checks.check_resource_server_dpop(None)
    assert ids(messages) == {"accounts.E041"}
    assert "'dpop'" in messages[0].msg


@pytest.mark.parametrize("value", ["api.example.com", "ftp://api.example.com", "https://a.b/?x=1"])
def test_e042_the_base_url_must_be_an_absolute_http_url(settings, value):
    settings.RESOURCE_SERVER_BASE_URL = value
    assert ids(checks.check_resource_server_dpop(None)) == {"accounts.E042"}


def test_the_dpop_settings_pass_as_documented(settings):
    settings.RESOURCE_SERVER_DPOP_ALGORITHMS = ("ES256",)
    settings.RESOURCE_SERVER_DPOP_IAT_WINDOW = 30
    settings.RESOURCE_SERVER_BASE_URL = "https://api.example.com/v1"
    assert checks.check_resource_server_dpop(None) == []


def test_request_lines_lose_their_query_string_whatever_the_logging_config():
    import logging

    from accounts.log_filters import DropQueryStrings

    server = logging.getLogger("django.server")
    assert [f for f in server.filters if isinstance(f, DropQueryStrings)]
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Keep()
    server.addHandler(handler)
    try:
        server.info('"%s" %s', "GET /auth/callback/?code=SECRET&state=s HTTP/1.1", 302)
    finally:
        server.removeHandler(handler)
    assert seen == ['"GET /auth/callback/?… HTTP/1.1" 302']


def cluster_caches(location, **entry):
    return {
        alias: {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "bff",
            "OPTIONS": {
                "CLIENT_CLASS": "accounts.cluster.client.ClusterClient",
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
            },
            **entry,
        }
        for alias in ("default", "sessions")
    }


def test_a_cluster_with_the_shipped_key_layout_passes(settings):
    settings.CACHES = cluster_caches(["redis://10.0.0.1:7000"])
    assert checks.check_session_cache_on_a_cluster(None) == []


def test_e035_a_key_function_that_splits_a_session_over_slots(settings):
    settings.CACHES = cluster_caches(
        ["redis://10.0.0.1:7000"], KEY_FUNCTION="tests.accounts.test_checks.hashing_key_function"
    )
    messages = checks.check_session_cache_on_a_cluster(None)
    assert ids(messages) == {"accounts.E035"}
    assert "KEY_FUNCTION" in (messages[0].hint or "")


def hashing_key_function(key, key_prefix, version):
    import hashlib

    return f"{key_prefix}:{version}:{hashlib.sha256(key.encode()).hexdigest()}"


def test_e036_a_cluster_location_that_names_no_node(settings):
    settings.CACHES = cluster_caches("redis://10.0.0.1:7000/2")
    messages = checks.check_session_cache_on_a_cluster(None)
    assert ids(messages) == {"accounts.E036"}
    assert "REDIS_URL" in (messages[0].hint or "")


def test_w018_a_hash_tag_in_the_key_prefix_puts_every_session_on_one_node(settings):
    settings.CACHES = cluster_caches(["redis://10.0.0.1:7000"], KEY_PREFIX="{bff}")
    messages = checks.check_session_cache_on_a_cluster(None)
    assert ids(messages) == {"accounts.W018"}
    assert "REDIS_KEY_PREFIX" in (messages[0].hint or "")
