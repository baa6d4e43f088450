"""The real parts the integration tests run against: the local provider, a gunicorn site, and a
scripted person who fills in the provider's forms with ``requests``.

Each process logs to a file under ``test-artifacts/`` so a failure can be read after the run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CLIENT_ID = "bff-test"
CLIENT_SECRET = "bff-test-secret-0123456789abcdefghijkl"
API_AUDIENCE = "http://127.0.0.1:8002"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """A child process whose output goes to a log file, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.name = name
        self.log_path = ARTIFACTS / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


class Provider:
    """The local oidc-provider from dev/provider, on a port of its own."""

    def __init__(self, redirect_uris: list[str], post_logout_uris: list[str], **env: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self._env = {
            **os.environ,
            "PROVIDER_PORT": str(self.port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "CLIENT_REDIRECT_URIS": ",".join(redirect_uris),
            "CLIENT_POST_LOGOUT_REDIRECT_URIS": ",".join(post_logout_uris),
            "API_AUDIENCE": API_AUDIENCE,
            **env,
        }
        self.process: Process | None = None

    def start(self) -> Provider:
        self.process = Process(
            f"provider-{self.port}", ["node", "dev/provider/server.mjs"], self._env
        )
        wait_until(self._ready, 20, f"the provider on {self.issuer}\n{self.process.log()}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if not self.process.alive():
            raise RuntimeError(f"provider exited:\n{self.process.log()}")
        try:
            return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=1).ok
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def stats(self) -> dict[str, int]:
        return requests.get(self.issuer + "/_dev/stats", timeout=5).json()

    def reset_stats(self) -> None:
        requests.post(self.issuer + "/_dev/stats/reset", timeout=5).raise_for_status()

    def revoke_grants(self, sub: str) -> None:
        requests.post(self.issuer + "/_dev/revoke-grants", params={"sub": sub}, timeout=5)

    def discovery(self) -> dict:
        return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=5).json()


class Site:
    """The project under gunicorn, as in production: DEBUG off, its own SQLite file."""

    def __init__(self, provider: Provider, port: int, *, workers: int = 2, **env: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        ARTIFACTS.mkdir(exist_ok=True)
        db = ARTIFACTS / f"site-{port}.sqlite3"
        db.unlink(missing_ok=True)
        self.workers = workers
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "test-only-secret-key-0123456789abcdefghijklmnop",
            "DJANGO_DEBUG": "0",
            "SITE_URL": self.url,
            "DATABASE_URL": f"sqlite:///{db}",
            "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": provider.client_id,
            "OIDC_CLIENT_SECRET": provider.client_secret,
            **env,
        }
        self.process: Process | None = None

    def start(self) -> Site:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        self.process = Process(
            f"site-{self.port}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--timeout",
                "60",
                "--graceful-timeout",
                "2",
            ],
            self.env,
        )
        wait_until(self._ready, 30, f"the site on {self.url}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if not self.process.alive():
            raise RuntimeError(f"site exited:\n{self.process.log()}")
        try:
            requests.get(self.url + "/auth/session/", timeout=1)
            return True
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.stop()


# --- a person at the provider's forms, scripted -------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "id": a.get("id"), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def sign_in_at_provider(
    http: requests.Session, authorize_url: str, username: str, stop_at: str
) -> str:
    """Fill in the provider's login and consent forms as ``username``.

    Follows redirects until one points at ``stop_at`` (the site's callback) and returns that
    URL, unfollowed, so the caller decides who delivers it (a test client or a real server).
    """
    url = authorize_url
    method, data = "GET", None
    for _ in range(20):
        response = http.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            method, data = "GET", None
            if url.startswith(stop_at):
                return url
            continue
        assert response.status_code == 200, (
            f"{response.status_code} at {url}: {response.text[:500]}"
        )
        form = next(f for f in forms_of(response.text) if f["fields"].get("prompt"))
        data = dict(form["fields"])
        if data["prompt"] == "login":
            data.update(login=username, password="any password")
        method, url = "POST", urljoin(url, form["action"])
    raise AssertionError(f"no redirect to {stop_at} after 20 steps; last URL {url}")


def confirm_logout_at_provider(http: requests.Session, end_session_url: str) -> str:
    """Answer the provider's "sign me out?" form with yes; return where it sends us."""
    page = http.get(end_session_url, allow_redirects=True, timeout=10)
    form = next(f for f in forms_of(page.text) if f["id"] == "op.logoutForm")
    data = dict(form["fields"], logout="yes")
    response = http.post(
        urljoin(page.url, form["action"]), data=data, allow_redirects=False, timeout=10
    )
    assert response.is_redirect, response.text[:500]
    return urljoin(page.url, response.headers["Location"])


def json_or_text(response: requests.Response):
    try:
        return response.json()
    except json.JSONDecodeError:
        return response.text
