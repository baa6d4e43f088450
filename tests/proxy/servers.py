"""Real upstreams for the proxy tests: the sample API under gunicorn, and an echo server that
records exactly what reached it and answers as each test asks."""

from __future__ import annotations

import base64
import json
import os
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.stack import Process, free_port, wait_until


class SampleAPI:
    """``dev/sample_api`` under gunicorn (gthread, like production), trusting ``issuer``, and its
    WebSocket side (``dev.sample_api.live``) under uvicorn at ``live_url``."""

    def __init__(self, issuer: str, audience: str = "http://127.0.0.1:8002", **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.live_port = free_port()
        self.live_url = f"http://127.0.0.1:{self.live_port}"
        self.live: Process | None = None
        self.env = {
            **os.environ,
            "SAMPLE_API_ISSUER": issuer,
            "SAMPLE_API_AUDIENCE": audience,
            **env,
        }
        self.process: Process | None = None

    def start(self) -> SampleAPI:
        self.process = Process(
            f"sample-api-{self.port}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "dev.sample_api.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--timeout",
                "120",
                "--graceful-timeout",
                "1",
                # Several gunicorns run at once in the tests: no shared control socket.
                "--no-control-socket",
            ],
            self.env,
        )
        self.live = Process(
            f"sample-api-live-{self.live_port}",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "dev.sample_api.live:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.live_port),
                "--lifespan",
                "off",
                "--log-level",
                "warning",
            ],
            self.env,
        )
        wait_until(self._ready, 20, f"the sample API on {self.url} and {self.live_url}")
        return self

    def _ready(self) -> bool:
        for process, url in ((self.process, self.url), (self.live, self.live_url)):
            assert process is not None
            if not process.alive():
                raise RuntimeError(f"sample API exited:\n{process.log()}")
            try:
                if not requests.get(url + "/health", timeout=1).ok:
                    return False
            except requests.RequestException:
                return False
        return True

    def stop(self) -> None:
        for process in (self.process, self.live):
            if process:
                process.stop()


@dataclass
class Arrival:
    """One request as it arrived: the request line, the headers in order and as spelled, and
    the body with its framing removed."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}

    @property
    def bearer(self) -> str | None:
        value = self.header("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else None

    @property
    def token(self) -> str | None:
        """The access token, whether sent as a bearer token or a DPoP-bound one."""
        scheme, _, token = (self.header("Authorization") or "").partition(" ")
        return token if scheme in ("Bearer", "DPoP") and token else None

    @property
    def dpop_claims(self) -> dict[str, Any]:
        """The claims of the DPoP proof that came (unverified: the tests verify it)."""
        proof = self.header("DPoP")
        if proof is None:
            return {}
        payload = proof.split(".")[1]
        claims: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        return claims


@dataclass
class EchoState:
    arrivals: list[Arrival] = field(default_factory=list)
    # Bearer tokens the echo server answers with 401, as an API would after a revocation.
    rejected_tokens: set[str] = field(default_factory=set)
    reject_all: bool = False
    # The nonce ``/dpop-nonce`` wants in every DPoP proof (RFC 9449 §9).
    dpop_nonce: str = "nonce-1"
    nonces_given: int = 0
    # The token ``/step-up-first`` challenges: the first it saw (a later one carries the level).
    step_up_token: str | None = None
    # Set when an endless answer could not be written any more: the proxy let go of it.
    endless_closed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _EchoHandler(socketserver.StreamRequestHandler):
    server: _EchoTCPServer

    def handle(self) -> None:
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        line = self.rfile.readline(65537)
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            raw = self.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        lower = {k.lower(): v for k, v in headers}
        chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        if chunked:
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(lower.get("content-length", "0") or 0))
        arrival = Arrival(method, target, headers, body, chunked)
        state = self.server.state
        with state.lock:
            state.arrivals.append(arrival)
        return self._answer(arrival)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _answer(self, arrival: Arrival) -> bool:
        parts = urlsplit(arrival.target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        state = self.server.state
        if state.reject_all or (arrival.token and arrival.token in state.rejected_tokens):
            scheme = "DPoP" if arrival.header("DPoP") else "Bearer"
            return self._send(
                401,
                {"error": "invalid_token"},
                [("WWW-Authenticate", f'{scheme} error="invalid_token"')],
            )
        if path.endswith("/dpop-nonce") and arrival.dpop_claims.get("nonce") != state.dpop_nonce:
            return self._send(
                401,
                {"error": "use_dpop_nonce"},
                [
                    ("WWW-Authenticate", 'DPoP error="use_dpop_nonce"'),
                    ("DPoP-Nonce", state.dpop_nonce),
                ],
            )
        if path.endswith("/dpop-nonce-loop"):
            with state.lock:
                state.nonces_given += 1
                nonce = f"loop-{state.nonces_given}"
            challenge = [("WWW-Authenticate", 'DPoP error="use_dpop_nonce"'), ("DPoP-Nonce", nonce)]
            return self._send(401, {"error": "use_dpop_nonce"}, challenge)
        if path.endswith("/dpop-refused"):
            challenge = [("WWW-Authenticate", 'DPoP error="invalid_dpop_proof"')]
            return self._send(401, {"error": "invalid_dpop_proof"}, challenge)
        if path.endswith("/slow"):
            time.sleep(float(query.get("seconds", "1")))
        if path.endswith("/drop"):
            return False
        if path.endswith("/status"):
            return self._send(int(query.get("code", "200")), {"status": query.get("code")})
        if path.endswith("/headers"):
            extra = [tuple(h.split(":", 1)) for h in parse_qs(parts.query).get("h", [])]
            return self._send(200, {"ok": True}, [(k, v.strip()) for k, v in extra])
        if path.endswith("/unauthorized"):
            challenges = parse_qs(parts.query).get("challenge", [])
            return self._send(401, {"error": "no"}, [("WWW-Authenticate", c) for c in challenges])
        if path.endswith("/step-up-first"):
            with state.lock:
                state.step_up_token = state.step_up_token or arrival.token
            if arrival.token == state.step_up_token:
                asked = query.get("challenge", 'Bearer error="insufficient_user_authentication"')
                return self._send(401, {"error": "no"}, [("WWW-Authenticate", asked)])
        if path.endswith("/untyped"):
            data = b"<script>alert(document.cookie)</script>"
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\n\r\n"
            self.wfile.write(head.encode("latin-1") + data)
            self.wfile.flush()
            return True
        if path.endswith("/redirect"):
            return self._send(302, {}, [("Location", "http://elsewhere.test/landing")])
        if path.endswith("/endless"):
            return self._endless()
        if path.endswith("/events"):
            return self._events(int(query.get("count", "3")), float(query.get("interval", "1")))
        return self._send(200, {"method": arrival.method, "target": arrival.target})

    def _send(self, status: int, body: object, extra: list[tuple[str, str]] | None = None) -> bool:
        data = json.dumps(body).encode()
        head = [f"HTTP/1.1 {status} Whatever", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in extra or []]
        head.append(f"Content-Length: {len(data)}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        self.wfile.flush()
        return True

    def _events(self, count: int, interval: float) -> bool:
        """Server-sent events, one per ``interval``: a thread per connection, so any number of
        streams can be open at once."""
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for number in range(1, count + 1):
                event = b"id: %d\ndata: tick\n\n" % number
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                if number < count:
                    time.sleep(interval)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            return False
        return True

    def _endless(self) -> bool:
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            self.server.state.endless_closed.set()
        return False


class _EchoTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: EchoState) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.state = state
        # Small kernel buffers, so an endless answer blocks soon once nobody reads it.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)


class EchoServer:
    """A raw HTTP/1.1 server on a port-0 socket. Paths (any prefix): ``/slow?seconds=``,
    ``/drop`` (closes without answering), ``/status?code=``, ``/headers?h=Name:value``,
    ``/untyped`` (a body with no Content-Type), ``/unauthorized?challenge=`` (a 401 with those
    ``WWW-Authenticate`` values),
    ``/redirect``, ``/endless``, ``/events?count=&interval=`` (server-sent events),
    ``/dpop-nonce`` (401 ``use_dpop_nonce`` until a proof carries ``state.dpop_nonce``),
    ``/dpop-nonce-loop`` (a new nonce challenge every time), ``/dpop-refused`` (401
    ``invalid_dpop_proof``); anything else answers 200. A rejected token's challenge is in the
    scheme it came with."""

    def __init__(self) -> None:
        self.state = EchoState()
        self._server = _EchoTCPServer(self.state)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> EchoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self.state.lock:
            self.state.arrivals.clear()
            self.state.rejected_tokens.clear()
            self.state.reject_all = False
            self.state.dpop_nonce = "nonce-1"
            self.state.nonces_given = 0
            self.state.step_up_token = None
            self.state.endless_closed.clear()

    @property
    def arrivals(self) -> list[Arrival]:
        with self.state.lock:
            return list(self.state.arrivals)


def rss_high_water_kib(pid: int) -> int:
    """Peak resident memory of ``pid`` so far (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def child_pids(pid: int) -> list[int]:
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            children += [int(p) for p in f.read().split()]
    return children
