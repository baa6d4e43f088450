"""proxy.bodies: request bodies read from the WSGI input, counted against the limit."""

import io

import pytest

from proxy.bodies import read_request_body
from proxy.exceptions import BodyTooLarge, IncompleteBody, UnsupportedTransferCoding


class Input(io.BytesIO):
    """A WSGI input that records how much was asked of it in one read."""

    def __init__(self, data):
        super().__init__(data)
        self.largest_read = 0

    def read(self, size=-1):
        self.largest_read = max(self.largest_read, size)
        return super().read(size)


def body_for(data, *, length=True, chunked=False, terminated=True, limit=1000, replay=100):
    environ: dict[str, object] = {"wsgi.input": Input(data)}
    if length is True:
        environ["CONTENT_LENGTH"] = str(len(data))
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = terminated
    return environ, read_request_body(environ, limit=limit, replay_limit=replay, chunk_size=64)


def sent(body):
    value = body.body()
    return value if isinstance(value, bytes | None) else b"".join(value)


def test_no_body():
    _, body = body_for(b"", length=None)
    assert body.empty
    assert body.replayable
    assert body.content_length is None
    assert sent(body) is None
    _, body = body_for(b"", length="0")
    assert body.empty


def test_small_body_is_buffered_and_replayable():
    _, body = body_for(b"x" * 100)
    assert body.replayable
    assert body.content_length == 100
    assert sent(body) == sent(body) == b"x" * 100


def test_larger_body_streams_in_chunks_and_is_not_replayable():
    environ, body = body_for(b"y" * 900)
    assert not body.replayable
    assert body.content_length == 900
    assert sent(body) == b"y" * 900
    assert environ["wsgi.input"].largest_read <= 64


def test_announced_length_over_the_limit_is_refused_before_reading():
    with pytest.raises(BodyTooLarge):
        body_for(b"z" * 1001, limit=1000)


def test_chunked_small_body_is_buffered():
    _, body = body_for(b"c" * 50, length=None, chunked=True)
    assert body.replayable
    assert body.content_length == 50


def test_chunked_body_streams_after_the_buffered_head():
    _, body = body_for(b"c" * 900, length=None, chunked=True)
    assert not body.replayable
    assert body.content_length is None
    assert sent(body) == b"c" * 900


def test_chunked_body_over_the_limit_is_refused_while_it_flows():
    _, body = body_for(b"c" * 1500, length=None, chunked=True, limit=1000)
    with pytest.raises(BodyTooLarge):
        sent(body)


def test_chunked_body_needs_a_server_that_terminates_its_input():
    with pytest.raises(IncompleteBody):
        body_for(b"c" * 10, length=None, chunked=True, terminated=False)


def test_a_body_shorter_than_announced_is_incomplete():
    with pytest.raises(IncompleteBody):
        body_for(b"short", length="50")
    _, body = body_for(b"s" * 500, length="900")
    with pytest.raises(IncompleteBody):
        sent(body)


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_malformed_length_is_refused(length):
    with pytest.raises(IncompleteBody):
        body_for(b"x", length=length)


class BrokenInput(io.BytesIO):
    """A WSGI input whose server fails to parse the body after ``good`` bytes."""

    def __init__(self, good, error):
        super().__init__(good)
        self.error = error

    def read(self, size=-1):
        data = super().read(size)
        if not data:
            raise self.error
        return data


@pytest.mark.parametrize("error", [OSError("no more data"), ValueError("bad chunk size")])
@pytest.mark.parametrize("size", [10, 5000])  # buffered, and streamed after its head
def test_a_body_the_server_cannot_parse_is_incomplete_not_a_crash(error, size):
    environ = {
        "wsgi.input": BrokenInput(b"b" * size, error),
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input_terminated": True,
    }

    def read_and_send():
        sent(read_request_body(environ, limit=10_000, replay_limit=100, chunk_size=64))

    with pytest.raises(IncompleteBody, match="malformed"):
        read_and_send()


@pytest.mark.parametrize("coding", ["gzip, chunked", "chunked, chunked", "identity", "deflate"])
def test_transfer_codings_besides_chunked_are_refused(coding):
    environ = {
        "wsgi.input": Input(b"abc"),
        "HTTP_TRANSFER_ENCODING": coding,
        "wsgi.input_terminated": True,
    }
    with pytest.raises(UnsupportedTransferCoding):
        read_request_body(environ, limit=1000, replay_limit=100, chunk_size=64)


def test_chunked_is_matched_whatever_its_case():
    environ = {
        "wsgi.input": Input(b"abc"),
        "HTTP_TRANSFER_ENCODING": " Chunked ",
        "wsgi.input_terminated": True,
    }
    body = read_request_body(environ, limit=1000, replay_limit=100, chunk_size=64)
    assert sent(body) == b"abc"
