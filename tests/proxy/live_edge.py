"""The proxy's async path through a real server inside the test process: ``ProxyEdge`` under
uvicorn in a thread, with the test's own settings (``settings`` fixture overrides, monkeypatches
and the test database reach it), and a client with the Django test client's API.

``EdgeClient`` sends ``/api/proxy/`` calls over HTTP, byte for byte, to that server with the
wrapped Django client's session cookie; everything else (login, pages) goes to the Django
client, as it would go to Django's pages in the deployed site.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from django.conf import settings

from tests.stack import free_port


class LiveEdge:
    def __init__(self) -> None:
        from config.edge_headers import site_headers
        from proxy.asgi import ProxyEdge

        self.port = free_port()
        config = uvicorn.Config(
            ProxyEdge(_no_pages, site_headers=site_headers),
            host="127.0.0.1",
            port=self.port,
            loop="asyncio",
            http="httptools",
            lifespan="on",
            proxy_headers=False,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveEdge:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the live edge did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def _no_pages(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"only /api/proxy/ goes to the live edge, not {scope.get('path')}")


class EdgeResponse:
    def __init__(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = status
        self.content = content
        self.headers = {}
        for name, value in headers:
            if name.lower() == "set-cookie":
                continue
            self.headers[name.lower()] = value

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers

    def json(self) -> Any:
        return json.loads(self.content)


class EdgeClient:
    """Django's test ``Client`` API; ``/api/proxy/`` calls go to the live edge."""

    def __init__(self, client: Any, edge: LiveEdge) -> None:
        self._client = client
        self._edge = edge

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self._call("GET", path, data, None, extra)

    def head(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self._call("HEAD", path, data, None, extra)

    def delete(self, path: str, data: Any = b"", content_type: str = "", **extra: Any) -> Any:
        return self._call("DELETE", path, data, content_type, extra)

    def post(self, path: str, data: Any = b"", content_type: str = "", **extra: Any) -> Any:
        return self._call("POST", path, data, content_type, extra)

    def put(self, path: str, data: Any = b"", content_type: str = "", **extra: Any) -> Any:
        return self._call("PUT", path, data, content_type, extra)

    def patch(self, path: str, data: Any = b"", content_type: str = "", **extra: Any) -> Any:
        return self._call("PATCH", path, data, content_type, extra)

    def _call(
        self, method: str, path: str, data: Any, content_type: str | None, extra: dict[str, Any]
    ) -> Any:
        if not path.startswith("/api/proxy/"):
            call = getattr(self._client, method.lower())
            if content_type is None:
                return call(path, data, **extra)
            return call(path, data, content_type=content_type, **extra)
        headers = {"Host": "testserver"}
        for key, value in extra.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").title()] = value
        cookie = self._client.cookies.get(settings.SESSION_COOKIE_NAME)
        if cookie is not None and cookie.value:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie.value}"
        body: bytes | None = None
        if method in {"GET", "HEAD"}:
            if data:
                path += ("&" if "?" in path else "?") + urlencode(data, doseq=True)
        else:
            if isinstance(data, dict) and content_type == "application/json":
                data = json.dumps(data)
            body = data.encode() if isinstance(data, str) else bytes(data or b"")
            if content_type:
                headers["Content-Type"] = content_type
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection("127.0.0.1", self._edge.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            return EdgeResponse(response.status, response.getheaders(), content)
        finally:
            conn.close()
