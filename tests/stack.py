"""The real parts the integration tests run against: the local provider, a gunicorn site, and a
scripted person who fills in the provider's forms with ``requests``.

Each process logs to a file under ``test-artifacts/`` so a failure can be read after the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
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


def wait_until(predicate, timeout: float, what: str, detail=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    more = f"\n{detail()}" if detail else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{more}")


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

    @classmethod
    def for_site(cls, site_url: str, **env: str) -> Provider:
        """A provider that knows one site at ``site_url``: its callback, the page it returns to
        after logout and its back-channel logout endpoint."""
        return cls(
            redirect_uris=[f"{site_url}/auth/callback/"],
            post_logout_uris=[f"{site_url}/"],
            CLIENT_BACKCHANNEL_LOGOUT_URI=f"{site_url}/auth/backchannel-logout/",
            **env,
        )

    def start(self) -> Provider:
        # Twice at most: on a loaded machine a Node process has been seen to stall before it
        # listened (nothing logged after its start-up warning, not even on SIGTERM). A fresh
        # process on the same port starts in about a second.
        for attempt in (1, 2):
            self.process = Process(
                f"provider-{self.port}-{attempt}", ["node", "dev/provider/server.mjs"], self._env
            )
            try:
                wait_until(self._ready, 30, f"the provider on {self.issuer}", self.process.log)
                return self
            except TimeoutError:
                self.process.stop()
                if attempt == 2:
                    raise
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if not self.process.alive():
            raise RuntimeError(f"provider exited:\n{self.process.log()}")
        try:
            return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def stats(self) -> dict[str, int]:
        return requests.get(self.issuer + "/_dev/stats", timeout=5).json()  # type: ignore[no-any-return]

    def reset_stats(self) -> None:
        requests.post(self.issuer + "/_dev/stats/reset", timeout=5).raise_for_status()

    def revoke_grants(self, sub: str) -> None:
        requests.post(self.issuer + "/_dev/revoke-grants", params={"sub": sub}, timeout=5)

    def set_groups(self, sub: str, groups: list[str]) -> None:
        """The ``groups`` claim of ``sub``'s next ID tokens; an empty list drops the claim."""
        requests.post(
            self.issuer + "/_dev/groups", params={"sub": sub}, json=groups, timeout=5
        ).raise_for_status()

    def discovery(self) -> dict[str, Any]:
        return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=5).json()  # type: ignore[no-any-return]


class Site:
    """The project under gunicorn, as in production (``gunicorn -c config/gunicorn.py``): DEBUG
    off, its own SQLite file."""

    def __init__(
        self,
        provider: Provider,
        port: int,
        *,
        workers: int = 2,
        policy: dict[str, str] | None = None,
        **env: str,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        ARTIFACTS.mkdir(exist_ok=True)
        db = ARTIFACTS / f"site-{port}.sqlite3"
        db.unlink(missing_ok=True)
        self.workers = workers
        self.policy = policy or {}
        self.access_log = ARTIFACTS / f"site-{port}-access.log"
        self.access_log.unlink(missing_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": env.pop("DJANGO_SETTINGS_MODULE", "config.settings"),
            "DJANGO_SECRET_KEY": "test-only-secret-key-0123456789abcdefghijklmnop",
            "DJANGO_DEBUG": "0",
            "SITE_URL": self.url,
            "DATABASE_URL": f"sqlite:///{db}",
            "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            # Its own key prefix: each site under test has its own session policy in Redis.
            "REDIS_KEY_PREFIX": f"site{port}",
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": provider.client_id,
            "OIDC_CLIENT_SECRET": provider.client_secret,
            "TOKEN_ENCRYPTION_KEYS": TOKEN_KEY,
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
        if self.policy:
            self.set_policy(**self.policy)
        # As in production: the config names the application and the worker class.
        self.process = Process(
            f"site-{self.port}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.py",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "2",
                # Path only (no query string: the callback's carries the code), and the pid of
                # the worker that answered, so tests can see both workers took part.
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(p)s %(m)s %(U)s %(s)s",
            ],
            # Four page threads per worker, as the tests always had.
            {"GUNICORN_THREADS": "4", **self.env},
        )
        wait_until(self._ready, 30, f"the site on {self.url}")
        return self

    def set_policy(self, **values: str) -> None:
        """Change the session policy, as an admin would (``manage.py session_policy``)."""
        args = [f"--{name.replace('_', '-')}={value}" for name, value in values.items()]
        subprocess.run(
            [sys.executable, "manage.py", "session_policy", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def create_superuser(self, username: str, password: str) -> None:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "createsuperuser",
                "--noinput",
                "--username",
                username,
                "--email",
                f"{username}@example.test",
            ],
            cwd=ROOT,
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": password},
            check=True,
            capture_output=True,
        )

    def _ready(self) -> bool:
        assert self.process is not None
        if not self.process.alive():
            raise RuntimeError(f"site exited:\n{self.process.log()}")
        try:
            requests.get(self.url + "/auth/session/", timeout=2)
            return True
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.stop()


# --- a person at the provider's forms, scripted -------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "id": a.get("id"), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


def forms_of(html: str) -> list[dict[str, Any]]:
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


TOKEN_KEY = "n2s3pKxS9QwFBoQ3rR5Hc1k0H0rHkGkUqM3Gk7Vh4dA="


def stored_token_records(redis_client) -> dict[str, dict[str, Any]]:
    """Every token record in the test Redis database, decrypted with the tests' key."""
    from cryptography.fernet import Fernet

    records = {}
    for key in redis_client.keys("*:tokens"):
        blob = json.loads(redis_client.get(key))
        records[key.decode()] = json.loads(Fernet(TOKEN_KEY).decrypt(blob.encode()))
    return records


class Switch:
    """A TCP forwarder in front of a server, which a test can turn off.

    While off, connections are refused and open ones are cut, as when a provider is down or
    unreachable; turned on again, it forwards on the same port, so the server keeps its state.
    """

    def __init__(self, target_port: int) -> None:
        import threading

        self.port = free_port()
        while self.port == target_port:  # two free ports in a row can be the same number
            self.port = free_port()
        self.target_port = target_port
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def on(self) -> None:
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def off(self) -> None:
        if self._listener:
            # shutdown() wakes the thread blocked in accept(); close() alone would not, and the
            # socket would keep accepting.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in list(self._open):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                if self._listener is not listener:
                    return  # turned off
                # A client that gave up before being accepted (ECONNABORTED) must not end the
                # forwarding for everyone after it.
                time.sleep(0.01)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def provider_behind_switch(**provider_kwargs) -> tuple[Provider, Switch]:
    """A provider whose issuer is a Switch's port, so every client reaches it only through it."""
    provider = Provider(**provider_kwargs)
    switch = Switch(provider.port)
    provider.issuer = f"http://127.0.0.1:{switch.port}"
    provider._env["PROVIDER_ISSUER"] = provider.issuer
    switch.on()
    provider.start()
    return provider, switch


def log_in_with_requests(site_url: str, username: str = "alice") -> requests.Session:
    """A browser-like requests.Session logged in to a running site through the real provider."""
    http = requests.Session()
    start = http.get(f"{site_url}/auth/login/", allow_redirects=False, timeout=10)
    callback = sign_in_at_provider(
        http, start.headers["Location"], username, stop_at=f"{site_url}/auth/callback/"
    )
    done = http.get(callback, allow_redirects=False, timeout=10)
    assert done.status_code == 302, done.text[:500]
    return http


def leftover_keys(redis_client) -> list[bytes]:
    """Keys in the test Redis database besides the site-wide ones (the session policy, the token
    lifetimes seen at login): what a session left."""
    site_wide = (b":session-policy", b":observed-access-token-lifetime")
    return sorted(k for k in redis_client.keys("*") if not k.endswith(site_wide))


def redis_dump(redis_client) -> bytes:
    """Everything in the test Redis database, serialized: what a dump or a replica would hold."""
    return b"".join(redis_client.dump(k) or b"" for k in redis_client.keys("*"))


# --- Redis primary, replica and sentinels, for the deployment tests ----------------------------


def redis_server_binary() -> str:
    """redis-server; a sentinel is the same binary started with ``--sentinel``."""
    import shutil

    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("redis-server is not installed (./dev/test installs it)")
    return found


class RedisNode:
    """A redis-server (or a sentinel) of its own on a free loopback port, working in ``directory``.

    Nothing is saved to disk. ``kill()`` is SIGKILL: the process dies as a crashed machine would,
    with no chance to flush or hand anything over.
    """

    def __init__(self, name: str, directory: Path, argv: list[str]) -> None:
        self.name = name
        self.port = free_port()
        self.directory = directory
        self._argv = argv
        self.process: Process | None = None

    @classmethod
    def primary(cls, directory: Path) -> RedisNode:
        return cls("redis-primary", directory, [])

    @classmethod
    def replica(cls, directory: Path, primary: RedisNode) -> RedisNode:
        return cls("redis-replica", directory, ["--replicaof", "127.0.0.1", str(primary.port)])

    @classmethod
    def sentinel(
        cls,
        directory: Path,
        primary: RedisNode,
        *,
        service: str = "mymaster",
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> RedisNode:
        node = cls("redis-sentinel", directory, [])
        # A sentinel rewrites its configuration file (it records what it learns), so each has
        # a file of its own.
        config = directory / f"sentinel-{node.port}.conf"
        config.write_text(
            f"port {node.port}\n"
            "bind 127.0.0.1\n"
            f"dir {directory}\n"
            f"sentinel monitor {service} 127.0.0.1 {primary.port} {quorum}\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} {failover_timeout_ms}\n"
            f"sentinel parallel-syncs {service} 1\n"
        )
        node._argv = [str(config), "--sentinel"]
        return node

    def start(self) -> RedisNode:
        if self._argv and self._argv[-1] == "--sentinel":
            argv = [redis_server_binary(), *self._argv]
        else:
            argv = [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                *self._argv,
            ]
        self.process = Process(f"{self.name}-{self.port}", argv, dict(os.environ))
        wait_until(self._ready, 10, f"{self.name} on port {self.port}")
        return self

    def _ready(self) -> bool:
        import redis

        assert self.process is not None
        if not self.process.alive():
            raise RuntimeError(f"{self.name} exited:\n{self.process.log()}")
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.proc.pid, signal.SIGKILL)
        self.process.proc.wait()

    def stop(self) -> None:
        if self.process:
            self.process.stop()
