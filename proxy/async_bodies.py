"""Request bodies from ASGI ``receive``: the async twin of ``proxy.bodies``.

The decisions are ``proxy.bodies``' (``plan_body``, ``check_size``): what the framing headers
allow, the limit counted while the body flows. A body up to the replay limit is read into memory
first (replayable after an upstream 401); a larger one streams upstream as it arrives, so a slow
client costs a waiting coroutine, never a thread. The server removes chunked framing itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from proxy.bodies import BodyPlan, check_size
from proxy.exceptions import IncompleteBody, ProxyError


class AsyncRequestBody:
    def __init__(self, receive: Any, plan: BodyPlan, *, limit: int, replay_limit: int) -> None:
        self._receive = receive
        self._plan = plan
        self._limit = limit
        self._replay_limit = replay_limit
        self._head = b""
        self._ended = plan.kind == "none"
        self._received = 0
        self.data: bytes | None = None
        # An error raised while the body streamed upstream: the HTTP client reports only that
        # sending failed, the handler answers with this instead.
        self.failure: ProxyError | None = None

    async def start(self) -> AsyncRequestBody:
        """Read up to the replay limit (+1 byte, to know whether there is more)."""
        if self._plan.kind == "none":
            return self
        want = min(self._replay_limit, self._limit) + 1
        parts: list[bytes] = []
        while not self._ended and self._received < want:
            parts.append(await self._next())
        self._head = b"".join(parts)
        # Buffered (and replayable) only when all of it fit the replay limit, as in the sync
        # shell: a larger body streams, even if it happened to arrive at once.
        if self._ended and self._received <= self._replay_limit:
            self.data = self._head
        return self

    @property
    def empty(self) -> bool:
        return self._plan.kind == "none" or self.data == b""

    @property
    def replayable(self) -> bool:
        return self.data is not None or self._plan.kind == "none"

    @property
    def content_length(self) -> int | None:
        if self.data is not None:
            return len(self.data)
        return self._plan.length

    def body(self) -> bytes | AsyncIterator[bytes] | None:
        if self._plan.kind == "none" or self.data == b"":
            return None
        return self.data if self.data is not None else self._stream()

    async def _stream(self) -> AsyncIterator[bytes]:
        try:
            if self._head:
                yield self._head
            while not self._ended:
                chunk = await self._next()
                if chunk:
                    yield chunk
        except ProxyError as exc:
            self.failure = exc
            raise

    async def _next(self) -> bytes:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            raise IncompleteBody()
        chunk: bytes = message.get("body", b"")
        self._received += len(chunk)
        check_size(self._received, self._limit)
        if not message.get("more_body", False):
            self._ended = True
            if self._plan.length is not None and self._received != self._plan.length:
                raise IncompleteBody()
        return chunk
