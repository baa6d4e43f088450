"""accounts and proxy install into another Django project and work there, as docs/extending.md
tells a developer to do it: a wheel built from this repository, installed into a throwaway
directory, used by a project made with startproject and given exactly the settings and URLs the
docs show, with the repository itself out of the import path. Then a real login through the
local provider, a call through the proxy and a logout; and a consuming project's strict mypy
sees the public API's types."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.proxy.servers import EchoServer
from tests.stack import (
    TOKEN_KEY,
    Process,
    Provider,
    forms_of,
    free_port,
    sign_in_at_provider,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


def run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def documented_blocks() -> tuple[str, str]:
    """The settings block and the URLs of docs/extending.md's "Use the apps in another
    project", as a developer would copy them."""
    docs = (ROOT / "docs" / "extending.md").read_text()
    section = docs.split("## Use the apps in another project", 1)[1].split("\n## ", 1)[0]
    settings_block, urls_block = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[:2]
    return settings_block, urls_block


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy of what the distribution contains, so the build leaves nothing behind
    # in the checkout.
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "accounts", "proxy"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(source)],
        cwd=work,
        env=os.environ,
    )
    [built] = work.glob("oidc_bff-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("installed")
    run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        cwd=target,
        env=os.environ,
    )
    return target


def env_using(installed, **values):
    # The dependencies come from this environment; the apps only from the installed copy.
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    return {"PATH": os.environ["PATH"], "PYTHONPATH": f"{installed}{os.pathsep}{deps}", **values}


def test_the_wheel_is_a_library(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        fields = archive.read(metadata).decode()
    assert {"accounts/py.typed", "proxy/py.typed"} <= names
    assert "accounts/templates/accounts/layout.html" in names
    assert not any(n.startswith("config/") for n in names)  # the project's own glue stays out
    assert "License-Expression: MIT" in fields
    always = [
        line.split(": ", 1)[1]
        for line in fields.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert not [
        r for r in always if r.startswith(("gunicorn", "prometheus", "djangorestframework"))
    ]
    extras = {line.split(": ", 1)[1] for line in fields.splitlines() if "Provides-Extra" in line}
    assert {"server", "metrics", "drf"} <= extras


def test_a_fresh_project_with_the_documented_settings_logs_in_for_real(
    installed, tmp_path, redis_client
):
    settings_block, urls_block = documented_blocks()
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    provider = Provider([f"{site}/auth/callback/"], [f"{site}/"]).start()
    upstream = EchoServer().start()
    env = env_using(
        installed,
        SITE_URL=site,
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        OIDC_ISSUER=provider.issuer,
        OIDC_CLIENT_ID=provider.client_id,
        OIDC_CLIENT_SECRET=provider.client_secret,
        TOKEN_ENCRYPTION_KEYS=TOKEN_KEY,
        PROXY_UPSTREAMS=f'{{"api": {{"url": "{upstream.url}", "auth": "required"}}}}',
    )
    run([sys.executable, "-m", "django", "startproject", "mysite"], cwd=tmp_path, env=env)
    project = tmp_path / "mysite"
    settings_file = project / "mysite" / "settings.py"
    settings_file.write_text(settings_file.read_text() + "\n" + settings_block)
    (project / "mysite" / "urls.py").write_text(urls_block)

    out = run([sys.executable, "manage.py", "check", "--fail-level", "WARNING"], project, env)
    assert out.strip().splitlines()[-1] == "System check identified no issues (0 silenced).", out
    run([sys.executable, "manage.py", "migrate", "-v0"], project, env)
    server = Process(
        f"fresh-project-{port}",
        [
            sys.executable,
            str(project / "manage.py"),
            "runserver",
            "--noreload",
            f"127.0.0.1:{port}",
        ],
        env,
    )
    try:
        wait_until(lambda: _answers(f"{site}/auth/session/"), 30, "runserver", server.log)
        browser = requests.Session()

        start = browser.get(f"{site}/auth/login/?next=/account/", allow_redirects=False)
        assert start.status_code == 302, start.text[:500]
        # The local provider offers PAR: the parameters were pushed, the browser holds a
        # reference to them (and the provider insists on PKCE, so a login proves it was sent).
        assert "request_uri=" in start.headers["Location"]
        callback = sign_in_at_provider(
            requests.Session(), start.headers["Location"], "alice", stop_at=f"{site}/auth/"
        )
        back = browser.get(callback, allow_redirects=False)
        assert (back.status_code, back.headers["Location"]) == (302, "/account/"), back.text[:500]
        assert "Alice" in browser.get(f"{site}/account/").text
        assert browser.get(f"{site}/auth/session/").json()["authenticated"] is True

        proxied = browser.get(f"{site}/api/proxy/api/notes", headers={"X-CSRF": "1"})
        assert proxied.status_code == 200, proxied.text[:500]
        assert upstream.arrivals[-1].bearer  # the proxy added the user's token

        confirm = browser.get(f"{site}/auth/logout/")
        form = next(f for f in forms_of(confirm.text) if "csrfmiddlewaretoken" in f["fields"])
        out_ = browser.post(
            urljoin(confirm.url, form["action"]), data=form["fields"], allow_redirects=False
        )
        assert out_.status_code == 302, out_.text[:500]
        assert out_.headers["Location"].startswith(provider.issuer)
        assert browser.get(f"{site}/auth/session/").json() == {"authenticated": False}
    finally:
        server.stop()
        upstream.stop()
        provider.stop()
    log = server.log()
    # runserver's request line for the callback, without the authorization code.
    assert "GET /auth/callback/?… HTTP/1.1" in log
    assert "code=" not in log


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


CONSUMER = textwrap.dedent(
    """
    from django.http import HttpRequest, HttpResponse

    from accounts.api import (
        AccessCredential,
        LoggedInUser,
        get_access_credential,
        get_access_token,
        get_logged_in_user,
        with_access_credential,
        with_access_token,
    )


    def header(request: HttpRequest) -> str:
        return "Bearer " + get_access_token(request, audience="https://reports.example")


    def headers(request: HttpRequest) -> dict[str, str]:
        credential = get_access_credential(request, audience="https://reports.example")
        return credential.headers_for("GET", "https://reports.example/weekly")


    @with_access_token
    def dashboard(request: HttpRequest, token: str, page: int) -> HttpResponse:
        return HttpResponse(f"{page}: {len(token)}")


    @with_access_credential
    def reports(request: HttpRequest, credential: AccessCredential, week: int) -> HttpResponse:
        return HttpResponse(f"{week}: {credential.scheme}")


    def greeting(request: HttpRequest) -> str:
        user: LoggedInUser | None = get_logged_in_user(request)
        return user.name if user else "Welcome"


    dashboard(HttpRequest(), page=2)
    reports(HttpRequest(), week=2)
    wrong: int = get_access_token(HttpRequest())
    dashboard(HttpRequest(), page="two")
    also_wrong: str = get_access_credential(HttpRequest())
    """
)


def test_a_consuming_projects_strict_mypy_sees_the_public_api_typed(installed, tmp_path):
    (tmp_path / "consumer.py").write_text(CONSUMER)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy"),
            "consumer.py",
        ],
        cwd=tmp_path,
        env=env_using(installed, HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    # Exactly the three mistakes: with the API seen as Any, mypy would find none.
    assert len(errors) == 3, result.stdout + result.stderr
    assert 'expression has type "str", variable has type "int"' in errors[0]
    assert 'Argument "page" to "dashboard" has incompatible type "str"' in errors[1]
    assert 'expression has type "AccessCredential", variable has type "str"' in errors[2]


def test_without_prometheus_client_the_apps_count_nothing_and_work():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["prometheus_client"] = None  # as if the metrics extra were not installed
        from accounts.metrics import LOGOUTS, REFRESH_SECONDS
        from proxy.metrics import PROXIED, UPSTREAM_SECONDS
        LOGOUTS.labels(reason="logged_out").inc()
        PROXIED.labels(upstream="api", status="200").inc()
        with REFRESH_SECONDS.time(), UPSTREAM_SECONDS.labels(upstream="api").time():
            pass
        print("counted nothing")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert run([sys.executable, "-c", script], cwd=ROOT, env=env).strip() == "counted nothing"
