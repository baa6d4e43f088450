"""accounts and proxy install from this repository into another Django project and work there:
built and installed with pip into a throwaway directory, used by a project made with
startproject, with the repository itself out of the import path."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration

SETTINGS = textwrap.dedent(
    """
    INSTALLED_APPS += ["accounts", "proxy", "axes"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "accounts.middleware.SessionLifetimeMiddleware",
    )
    MIDDLEWARE.insert(
        MIDDLEWARE.index("accounts.middleware.SessionLifetimeMiddleware") + 1,
        "accounts.middleware.TokenRefreshMiddleware",
    )
    MIDDLEWARE.append("accounts.middleware.AccountsErrorMiddleware")
    MIDDLEWARE.append("axes.middleware.AxesMiddleware")
    AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "accounts.oidc.backend.OIDCBackend",
        "accounts.admin_access.password_login.PasswordBackend",
    ]
    AXES_HANDLER = "accounts.admin_access.lockout.PasswordLoginHandler"
    AXES_LOCKOUT_CALLABLE = "accounts.admin_access.lockout.lockout_response"
    AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
    AXES_FAILURE_LIMIT = 5
    from datetime import timedelta
    AXES_COOLOFF_TIME = timedelta(minutes=15)
    SESSION_ENGINE = "accounts.sessions.store"
    SESSION_CACHE_ALIAS = "sessions"
    REDIS_KEY_PREFIX = "throwaway"
    CACHES = {
        alias: {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "REDIS_URL",
            "KEY_PREFIX": "throwaway",
            "OPTIONS": {"SERIALIZER": "django_redis.serializers.json.JSONSerializer"},
        }
        for alias in ("default", "sessions")
    }
    SITE_URL = "http://testserver"
    ALLOWED_HOSTS = ["testserver"]
    OIDC_ISSUER = "https://login.example.com"
    OIDC_CLIENT_ID = "throwaway"
    OIDC_CLIENT_SECRET = "throwaway-secret"
    OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
    OIDC_USE_PKCE = True
    TOKEN_ENCRYPTION_KEYS = ["n2s3pKxS9QwFBoQ3rR5Hc1k0H0rHkGkUqM3Gk7Vh4dA="]
    PROXY_UPSTREAMS = {"api": {"url": "https://api.example.com"}}
    """
)

URLS = textwrap.dedent(
    """
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns = [
        path("admin/", admin.site.urls),
        path("", include("accounts.urls")),
        path("", include("proxy.urls")),
    ]
    """
)

EXERCISE = textwrap.dedent(
    """
    import accounts, proxy
    from django.test import Client
    print("accounts from", accounts.__file__)
    client = Client()
    print("session", client.get("/auth/session/").content.decode())
    print("account", client.get("/account/")["Location"])
    print("proxy", client.get("/api/proxy/api/x", HTTP_X_CSRF="1").status_code)
    print("logout page", client.get("/auth/logout/").status_code)
    from django.contrib.auth.models import User
    User.objects.create_superuser("root", "", "right-password")
    tries = [
        client.post("/admin/login/", {"username": "root", "password": p}).status_code
        for p in ["wrong"] * 5 + ["right-password"]
    ]
    print("password tries", tries)
    print("provider link", 'href="/auth/login/?next=/admin/"' in client.get("/admin/login/").text)
    """
)


def run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_apps_install_into_a_throwaway_project(tmp_path, redis_client):
    # Built from a copy of what the distribution contains, so the build leaves nothing behind
    # in the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "accounts", "proxy"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    target = tmp_path / "installed"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        cwd=tmp_path,
        env=os.environ,
    )
    assert (target / "accounts" / "templates" / "accounts" / "layout.html").exists()
    assert not (target / "config").exists()  # the project's own glue is not shipped

    # The dependencies come from this environment; the apps only from the installed copy.
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{target}{os.pathsep}{deps}"}
    run([sys.executable, "-m", "django", "startproject", "throwaway"], cwd=tmp_path, env=env)
    project = tmp_path / "throwaway"
    settings_file = project / "throwaway" / "settings.py"
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    settings_file.write_text(settings_file.read_text() + SETTINGS.replace("REDIS_URL", redis_url))
    (project / "throwaway" / "urls.py").write_text(URLS)

    out = run([sys.executable, "manage.py", "check", "--fail-level", "ERROR"], project, env)
    assert out.strip().splitlines()[-1] == "System check identified no issues (0 silenced).", out
    run([sys.executable, "manage.py", "migrate", "-v0"], project, env)
    out = run([sys.executable, "manage.py", "shell", "-c", EXERCISE], project, env)
    assert f"accounts from {target}" in out
    assert 'session {"authenticated": false}' in out
    assert "account /auth/login/?next=/account/" in out
    assert "proxy 401" in out
    assert "logout page 200" in out
    assert "password tries [200, 200, 200, 200, 429, 429]" in out
    assert "provider link True" in out
