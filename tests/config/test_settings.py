"""Settings come from the environment, with safe production defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.environment import database_from_url, env_bool, env_list, env_seconds

ROOT = Path(__file__).resolve().parents[2]


def settings_in_subprocess(env, expression):
    """Import config.settings in a clean interpreter with only ``env``; evaluate ``expression``."""
    code = f"import config.settings as s; print(repr({expression}))"
    base = {"PATH": os.environ["PATH"]}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return eval(result.stdout)  # noqa: S307 - our own repr of plain values


def test_production_defaults_on_https():
    values = settings_in_subprocess(
        {"SITE_URL": "https://app.example.com"},
        "(s.DEBUG, s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_NAME, s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS)",
    )
    assert values == (
        False,
        "__Host-sessionid",
        True,
        True,
        "Lax",
        "__Host-csrftoken",
        ["app.example.com"],
        ["https://app.example.com"],
    )


def test_plain_http_drops_secure_and_the_host_prefix():
    name, secure = settings_in_subprocess(
        {"SITE_URL": "http://127.0.0.1:8000", "DJANGO_DEBUG": "1"},
        "(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE)",
    )
    assert (name, secure) == ("sessionid", False)


def test_oidc_values_and_default_scopes():
    values = settings_in_subprocess(
        {"OIDC_ISSUER": "https://tenant.auth0.com/", "OIDC_AUDIENCE": "https://api"},
        "(s.OIDC_ISSUER, s.OIDC_SCOPES, s.OIDC_AUDIENCE, s.OIDC_PROVIDER)",
    )
    # Scopes left empty mean the preset's default (tested in tests/accounts/oidc/test_presets.py).
    assert values == ("https://tenant.auth0.com/", "", "https://api", "generic")


def test_database_url_defaults_to_sqlite_and_accepts_postgres():
    assert database_from_url("sqlite:///db.sqlite3", base_dir=ROOT)["NAME"] == str(
        ROOT / "db.sqlite3"
    )
    pg = database_from_url("postgres://app:p%40ss@db.internal:5433/bff", base_dir=ROOT)
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "app",
        "p@ss",
        "db.internal",
        "5433",
        "bff",
    )
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x/y", base_dir=ROOT)


def test_booleans_are_strict(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_FLAG", "Yes")
    assert env_bool("X_FLAG") is True


def test_lists_split_on_commas_and_spaces(monkeypatch):
    monkeypatch.setenv("X_LIST", "a.test, b.test c.test")
    assert env_list("X_LIST") == ["a.test", "b.test", "c.test"]


@pytest.mark.parametrize("raw", ["0", "-5", "15m", "1.5"])
def test_seconds_are_positive_whole_numbers(monkeypatch, raw):
    monkeypatch.setenv("OIDC_LOGIN_TIMEOUT", raw)
    with pytest.raises(ImproperlyConfigured, match="OIDC_LOGIN_TIMEOUT"):
        env_seconds("OIDC_LOGIN_TIMEOUT", 900)


def test_seconds_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("OIDC_LOGIN_TIMEOUT", raising=False)
    assert env_seconds("OIDC_LOGIN_TIMEOUT", 900) == 900
    monkeypatch.setenv("OIDC_LOGIN_TIMEOUT", " 1800 ")
    assert env_seconds("OIDC_LOGIN_TIMEOUT", 900) == 1800
    monkeypatch.setenv("OIDC_LOGIN_TIMEOUT", "")
    assert env_seconds("OIDC_LOGIN_TIMEOUT", 900) == 900


def test_gunicorn_refuses_to_start_without_required_values():
    env = {"PATH": os.environ["PATH"], "SITE_URL": "https://app.example.com"}
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    for name in ("DJANGO_SECRET_KEY", "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr
