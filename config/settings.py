"""Settings for the OIDC backend-for-frontend.

Every value an operator sets comes from the environment; see docs/configuration.md for the list.
Defaults are the production ones (DEBUG off, secure cookies when SITE_URL is https).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.environment import database_from_url, env_bool, env_list, env_str
from config.log_config import logging_config
from config.oidc_settings import *  # noqa: F403  (OIDC_*: the provider and this site as its client)
from config.redis_caches import redis_caches

# Lets classes such as admin.ModelAdmin[Model] be subscripted at run time, as the type checker
# wants them written.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
# Old keys still accepted for what was signed with them (CSRF tokens, messages) while rotating.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
DEBUG = env_bool("DJANGO_DEBUG", default=False)

# The public base URL of the site. Redirect URIs sent to the provider and cookie security derive
# from it, never from the request's Host header.
SITE_URL = env_str("SITE_URL").rstrip("/")
_site = urlsplit(SITE_URL)
SITE_IS_HTTPS = _site.scheme == "https"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [_site.hostname] if _site.hostname else [])
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"] if _site.netloc else []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "proxy",
    # The project itself, for its system checks (config/checks.py).
    "config.apps.SiteConfig",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so that every page made further in gets the policy, error pages included.
    "config.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.TokenRefreshMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.AccountsErrorMiddleware",
    # Last, as axes asks: it turns a lockout noted during the login view into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.csp.nonce_context",
                # {{ logged_in_user.name }}, .claims: who is logged in, for any template.
                "accounts.api.logged_in_user_context",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3"), base_dir=BASE_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: sessions and shared state --------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every key this site writes starts with this, so several sites can share one Redis.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "bff")
# With replicas: after writing a token record, wait (at most REDIS_WAIT_TIMEOUT_MS) until this
# many replicas have it, so a failover right after a refresh does not bring back the old,
# already-rotated refresh token. 0 (the default) does not wait.
REDIS_WAIT_REPLICAS = int(env_str("REDIS_WAIT_REPLICAS", "0"))
REDIS_WAIT_TIMEOUT_MS = int(env_str("REDIS_WAIT_TIMEOUT_MS", "100"))
# One Redis, Redis Sentinel or a Redis Cluster, from the environment (config/redis_caches.py).
CACHES = redis_caches(REDIS_URL, REDIS_KEY_PREFIX)
SESSION_ENGINE = "accounts.sessions.store"
# Only sessions before login (a login in progress) live this long; after login the session
# policy, edited in the admin, sets the lifetime.
SESSION_COOKIE_AGE = 3600
SESSION_CACHE_ALIAS = "sessions"

# --- Cookies: security follows the public URL -------------------------------------------------
# On https the __Host- prefix pins the cookie to this exact origin (Secure, Path=/, no Domain).
# On plain http (local development, tests on 127.0.0.1) a Secure cookie would never be sent back,
# so the prefix and the flag are dropped; accounts.W001 warns when that happens with DEBUG off.
SESSION_COOKIE_NAME = "__Host-sessionid" if SITE_IS_HTTPS else "sessionid"
SESSION_COOKIE_SECURE = SITE_IS_HTTPS
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: the provider's redirect back to /auth/callback/ is a cross-site navigation and
# must carry the session cookie that holds state, nonce and the PKCE verifier.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "__Host-csrftoken" if SITE_IS_HTTPS else "csrftoken"
CSRF_COOKIE_SECURE = SITE_IS_HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "accounts.error_pages.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sources added to the Content-Security-Policy (config/csp.py), by directive, as JSON; e.g.
# {"connect-src": ["https://api.example.com"]}. The base policy allows only this origin.
try:
    CSP_EXTRA_SOURCES = json.loads(env_str("CSP_EXTRA_SOURCES") or "{}")
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f"CSP_EXTRA_SOURCES is not valid JSON: {exc}") from exc
X_FRAME_OPTIONS = "DENY"
if SITE_IS_HTTPS:
    # A year of HSTS, subdomains and preload included: what `check --deploy` asks for. A site
    # that cannot commit to that turns them down here, knowingly.
    SECURE_HSTS_SECONDS = int(env_str("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
    # Behind a TLS-terminating proxy, Django sees http: trust its X-Forwarded-Proto (only when
    # the proxy sets it and strips the client's), or the redirect below would loop.
    if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", default=True)
    # Probes and scrapers often call over plain http inside the network; a redirect would fail
    # them. These answer no secrets (/metrics needs its token).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Authentication ------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and address is refused before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.oidc.backend.OIDCBackend",
    # Password logins for break-glass admin accounts made with createsuperuser, while
    # ACCOUNTS_PASSWORD_LOGIN is on.
    "accounts.admin_access.password_login.PasswordBackend",
]
ACCOUNTS_PASSWORD_LOGIN = env_bool("ACCOUNTS_PASSWORD_LOGIN", default=True)
# django-axes throttles password logins (accounts/admin_access/lockout.py; OIDC logins are never
# counted):
# after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused, the right password too, until the cool-off has passed since its last attempt.
# Username and address together: an attacker elsewhere cannot lock the real admin out.
AXES_FAILURE_LIMIT = int(env_str("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env_str("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "accounts.admin_access.lockout.PasswordLoginHandler"
AXES_LOCKOUT_CALLABLE = "accounts.admin_access.lockout.lockout_response"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# The provider and this site as its client (OIDC_*): config/oidc_settings.py.

# Fernet keys for the token record at rest; the first encrypts, all decrypt (rotation).
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS")

# --- Operations ----------------------------------------------------------------------------
# /metrics answers only with this bearer token; unset, it answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Misc ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = logging_config(
    level=env_str("LOG_LEVEL", "INFO"), json=env_str("LOG_FORMAT", "plain") == "json"
)

# --- Proxy ---------------------------------------------------------------------------------
# The allow-list of upstreams that /api/proxy/<name>/<path> forwards to, as JSON; see
# docs/proxy.md. Example: {"notes": {"url": "http://127.0.0.1:8002", "auth": "required"}}.
try:
    PROXY_UPSTREAMS = json.loads(env_str("PROXY_UPSTREAMS") or "{}")
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f"PROXY_UPSTREAMS is not valid JSON: {exc}") from exc
# The header every proxied call must carry (the anti-forgery defence).
PROXY_CSRF_HEADER = env_str("PROXY_CSRF_HEADER", "X-CSRF")
