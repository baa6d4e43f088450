"""Request bodies, read from the WSGI input in chunks: never ``request.body``.

A body of known length is read up to that length. A chunked upload has no length: gunicorn
removes the chunk framing and marks the input with ``wsgi.input_terminated`` (it ends by itself),
so it is read to its end; on a server without that mark such a body cannot be read safely and is
refused (WSGI 1.0 allows reading only ``CONTENT_LENGTH`` bytes). Either way the size is counted
against the upstream's limit while it flows, so a lying or absent length changes nothing.

Small bodies are read into memory first, which makes the request replayable after an upstream
401; larger ones stream through and are never replayed.

A body the server cannot read (a malformed chunk size, a chunk without its CRLF, a connection
that ends before the announced length) is the browser's fault: 400, never a 500. A transfer
coding other than ``chunked`` (``gzip, chunked``) is refused: the server removes only the chunk
framing, so forwarding the rest without its coding would silently change the body.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from proxy.exceptions import BodyTooLarge, IncompleteBody, UnsupportedTransferCoding


class RequestBody:
    """What to send upstream: nothing, ``data`` (buffered, replayable) or ``stream()``."""

    def __init__(
        self,
        *,
        data: bytes | None = None,
        prefix: bytes = b"",
        source: BinaryIO | None = None,
        length: int | None = None,
        limit: int = 0,
        chunk_size: int = 64 * 1024,
    ) -> None:
        self.data = data
        self._prefix = prefix
        self._source = source
        # Bytes still to read from ``source`` when the length is known; None reads to the end.
        self._remaining = length
        self._total_length = None if length is None else length + len(prefix)
        self._limit = limit
        self._chunk_size = chunk_size
        self._sent = len(prefix)

    @property
    def empty(self) -> bool:
        return self.data is None and self._source is None

    @property
    def replayable(self) -> bool:
        return self._source is None

    @property
    def content_length(self) -> int | None:
        """The length to announce upstream; None means a chunked request body."""
        if self.data is not None:
            return len(self.data)
        if self._source is None:
            return None
        return self._total_length

    def body(self) -> bytes | Iterator[bytes] | None:
        if self._source is None:
            return self.data
        return self._stream()

    def _stream(self) -> Iterator[bytes]:
        assert self._source is not None
        if self._prefix:
            yield self._prefix
        while self._remaining is None or self._remaining > 0:
            want = self._chunk_size
            if self._remaining is not None:
                want = min(want, self._remaining)
            chunk = _read(self._source, want)
            if not chunk:
                if self._remaining is not None:
                    raise IncompleteBody()
                return
            self._sent += len(chunk)
            check_size(self._sent, self._limit)
            if self._remaining is not None:
                self._remaining -= len(chunk)
            yield chunk


@dataclass(frozen=True)
class BodyPlan:
    """How a request body arrives: ``none``, ``sized`` (``length`` bytes) or ``chunked``."""

    kind: Literal["none", "sized", "chunked"]
    length: int | None = None


def plan_body(
    content_length: str | None,
    transfer_encoding: str | None,
    *,
    limit: int,
    input_terminated: bool,
) -> BodyPlan:
    """What the request's framing headers say of its body; refuses what cannot be forwarded
    faithfully or is over ``limit`` before a byte of it is read. Pure: both shells call it."""
    if content_length:
        try:
            length = int(content_length)
        except ValueError:
            raise IncompleteBody("The Content-Length header is not a number.") from None
        if length < 0:
            raise IncompleteBody("The Content-Length header is negative.")
        if length == 0:
            return BodyPlan("none")
        check_size(length, limit)
        return BodyPlan("sized", length)
    if transfer_encoding is None:
        return BodyPlan("none")
    if transfer_encoding.strip().lower() != "chunked":
        raise UnsupportedTransferCoding(
            f"Transfer-Encoding {transfer_encoding[:60]!r} is not supported; send the body "
            "with a Content-Length or chunked alone."
        )
    if not input_terminated:
        raise IncompleteBody("This server cannot read a request body of unknown length.")
    return BodyPlan("chunked")


def check_size(size: int, limit: int) -> None:
    """Counted while the body flows too, so a lying or absent length changes nothing."""
    if size > limit:
        raise BodyTooLarge(f"The request body is larger than {limit} bytes.")


def read_request_body(
    environ: Mapping[str, Any], *, limit: int, replay_limit: int, chunk_size: int
) -> RequestBody:
    """Decide how the body of the WSGI request ``environ`` is sent; reads at most
    ``replay_limit + 1`` bytes now (to buffer a small body)."""
    source: BinaryIO = environ["wsgi.input"]
    plan = plan_body(
        environ.get("CONTENT_LENGTH"),
        environ.get("HTTP_TRANSFER_ENCODING"),
        limit=limit,
        input_terminated=bool(environ.get("wsgi.input_terminated")),
    )
    if plan.kind == "none":
        return RequestBody()
    if plan.kind == "sized":
        assert plan.length is not None
        if plan.length <= replay_limit:
            return RequestBody(data=_read_exactly(source, plan.length))
        return RequestBody(source=source, length=plan.length, limit=limit, chunk_size=chunk_size)
    # Buffer up to the replay limit; whatever is left streams after it.
    head = _read_up_to(source, min(replay_limit, limit) + 1)
    check_size(len(head), limit)
    if len(head) <= replay_limit:
        return RequestBody(data=head) if head else RequestBody()
    return RequestBody(prefix=head, source=source, limit=limit, chunk_size=chunk_size)


def _read_exactly(source: BinaryIO, length: int) -> bytes:
    data = _read_up_to(source, length)
    if len(data) < length:
        raise IncompleteBody()
    return data


def _read_up_to(source: BinaryIO, length: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < length:
        chunk = _read(source, length - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _read(source: BinaryIO, size: int) -> bytes:
    try:
        return source.read(size)
    except Exception as exc:
        # The server's own parser errors surface here, from the WSGI input: gunicorn raises
        # InvalidChunkSize or ChunkMissingTerminator (its ParseException family) and NoMoreData
        # (an OSError); other servers raise OSError or ValueError. None is worth a 500.
        raise IncompleteBody("The request body is malformed or was cut off.") from exc
