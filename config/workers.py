"""The gunicorn worker class for this site: uvicorn (uvloop, httptools) serving the ASGI
application, with gunicorn's access log format kept.

gunicorn still manages the processes (``WEB_CONCURRENCY``), binds, restarts and times out
workers; each worker is one event loop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]


class Worker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop",
        "http": "httptools",
        "ws": "websockets-sansio",
        "lifespan": "on",
        # Like gthread: the client address is the socket's peer; X-Forwarded-* are the
        # proxy's to rebuild and Django's SECURE_PROXY_SSL_HEADER to trust.
        "proxy_headers": False,
        "server_header": False,
        # Logged below, in gunicorn's format (access_log_format).
        "access_log": False,
    }

    def load_wsgi(self) -> None:
        super().load_wsgi()
        if self.cfg.accesslog:
            self.wsgi: Any = AccessLog(self.wsgi, self.log.access_log, self.cfg.access_log_format)


class _Atoms(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


class AccessLog:
    """One line per HTTP request, with gunicorn's atoms (h, m, U, q, s, B, M, D, L, p, a, f, r)."""

    def __init__(self, app: Any, logger: Any, log_format: str) -> None:
        self.app = app
        self.logger = logger
        self.format = log_format
        self.pid = f"<{os.getpid()}>"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        seen = {"status": 0, "bytes": 0}

        async def counting_send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self._log(scope, seen, time.monotonic() - started)

    def _log(self, scope: Mapping[str, Any], seen: Mapping[str, int], seconds: float) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope.get("path", "")
        atoms = _Atoms(
            h=(scope.get("client") or ("-",))[0],
            m=scope.get("method", "-"),
            U=path,
            q=query,
            H=f"HTTP/{scope.get('http_version', '1.1')}",
            s=str(seen["status"]),
            B=str(seen["bytes"]),
            b=str(seen["bytes"]) if seen["bytes"] else "-",
            M=str(int(seconds * 1000)),
            D=str(int(seconds * 1_000_000)),
            L=f"{seconds:.6f}",
            T=str(int(seconds)),
            p=self.pid,
            a=headers.get("user-agent", "-"),
            f=headers.get("referer", "-"),
            t=datetime.now().strftime("[%d/%b/%Y:%H:%M:%S %z]"),
        )
        atoms["r"] = f"{atoms['m']} {path} {atoms['H']}"
        try:
            self.logger.info(self.format % atoms)
        except (TypeError, ValueError, KeyError):
            self.logger.info("%s %s %s", atoms["m"], path, atoms["s"])
