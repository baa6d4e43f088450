"""Production configuration: `manage.py check --deploy` is clean, and the deployment checks fire
on what would weaken a production site."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from accounts import checks

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **overrides):
    env = {
        "PATH": os.environ["PATH"],
        "SITE_URL": "https://app.example.com",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "OIDC_ISSUER": "https://login.example.com",
        "OIDC_CLIENT_ID": "app",
        "OIDC_CLIENT_SECRET": secrets.token_urlsafe(30),
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "PROXY_UPSTREAMS": '{"api": {"url": "https://api.example.com"}}',
    }
    env.update(overrides)
    return env


def check_deploy(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = check_deploy(production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_a_development_secret(tmp_path):
    env = production_env(tmp_path, OIDC_CLIENT_SECRET="bff-dev-secret-change-me")
    result = check_deploy(env)
    assert result.returncode != 0
    assert "accounts.E016" in result.stderr
    assert "OIDC_CLIENT_SECRET is a value published" in result.stderr


def test_check_deploy_flags_an_upstream_on_plain_http(tmp_path):
    env = production_env(tmp_path, PROXY_UPSTREAMS='{"api": {"url": "http://api.example.com"}}')
    result = check_deploy(env)
    assert result.returncode != 0
    assert "proxy.W001" in result.stderr


@pytest.mark.parametrize(
    "name", ["DJANGO_SECRET_KEY", "OIDC_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEYS"]
)
def test_e016_each_published_secret(settings, name):
    settings.DEBUG = False
    # The test settings use published values themselves: start from private ones.
    settings.SECRET_KEY = secrets.token_urlsafe(60)
    settings.OIDC_CLIENT_SECRET = secrets.token_urlsafe(30)
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    value = checks._PUBLIC_SECRETS[name][0]
    if name == "DJANGO_SECRET_KEY":
        settings.SECRET_KEY = value
    elif name == "OIDC_CLIENT_SECRET":
        settings.OIDC_CLIENT_SECRET = value
    else:
        settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), value]
    messages = checks.check_public_secrets(None)
    assert [m.id for m in messages] == ["accounts.E016"]
    assert name in messages[0].msg


def test_e016_is_quiet_in_development(settings):
    settings.DEBUG = True
    settings.OIDC_CLIENT_SECRET = "bff-dev-secret-change-me"
    assert checks.check_public_secrets(None) == []


def test_e017_insecure_session_cookie_on_https(settings):
    settings.SITE_URL = "https://app.example.com"
    settings.SESSION_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    assert [m.id for m in checks.check_cookie_flags(None)] == ["accounts.E017"]


def test_e018_session_cookie_readable_by_scripts(settings):
    settings.SESSION_COOKIE_HTTPONLY = False
    assert "accounts.E018" in [m.id for m in checks.check_cookie_flags(None)]


def test_w004_session_cookie_without_host_prefix_on_https(settings):
    settings.SITE_URL = "https://app.example.com"
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_NAME = "sessionid"
    assert [m.id for m in checks.check_cookie_flags(None)] == ["accounts.W004"]


def test_https_redirect_spares_the_probes(tmp_path):
    code = (
        "from django.test import Client;"
        "c = Client(HTTP_HOST='app.example.com');"
        "print(c.get('/healthz').status_code, c.get('/account/').status_code)"
    )
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["200", "301"], result.stderr
