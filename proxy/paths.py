"""Path safety: what may follow ``/api/proxy/<upstream>`` and reach the upstream.

The check runs on the path as the browser sent it (gunicorn's ``RAW_URI``), not on Django's
decoded ``PATH_INFO``, where ``%2F`` has already become ``/`` and can no longer be told apart.
Anything whose meaning could differ between this check and the upstream's router is refused
(IETF browser-apps draft §6.1.3.4): dot segments and their encodings, encoded slashes,
backslashes and percent signs (double encoding), empty segments (``//``), ``@``, a scheme,
control characters, and segments that some upstream reads as a dot segment although they are
none on the wire: Tomcat and Spring drop ``;`` parameters before resolving (``..;x`` is ``..``),
and servers that apply Unicode NFKC turn full-width dots (U+FF0E) into ``.`` and the full-width
solidus (U+FF0F) into ``/``. What passes is forwarded byte for byte, so the upstream decodes
exactly what was checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from proxy.exceptions import UnsafePath

# Printable ASCII, minus what never belongs in a path: the backslash (some servers read it as
# "/"), "#" (a fragment never reaches a server), and quote-like characters browsers escape.
_RAW_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_ESCAPE = re.compile(r"%(?P<hex>..)")
_HEX = re.compile(r"[0-9A-Fa-f]{2}")
# Encodings of these characters would be read as structure after one more decoding step.
_FORBIDDEN_ESCAPES = frozenset(b"./\\%?#")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# Characters a query string may hold as sent; controls, spaces and "#" never do.
_RAW_QUERY = re.compile(r"[\x21-\x7e]*")
# What ``quote`` leaves alone when a raw path has to be rebuilt from PATH_INFO: everything a
# path may hold unencoded except "%", so a decoded "%" comes back as "%25" and is refused.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"


def raw_request_path(environ: Mapping[str, Any], decoded_path: str) -> str:
    """The request's path as it came on the wire, without the query.

    gunicorn keeps it in ``RAW_URI`` (uWSGI and others in ``REQUEST_URI``). Servers that keep
    neither (Django's test client) only have the decoded path, which is re-encoded: an encoded
    slash is then indistinguishable from a slash, the weaker but still safe reading.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return quote(decoded_path.encode("utf-8"), safe=_PATH_SAFE)
    raw = str(raw).split("?", 1)[0]
    if not raw.startswith("/"):
        # The absolute form, "GET http://host/path HTTP/1.1", which proxies may receive.
        raw = urlsplit(raw).path or "/"
    return raw


def split_forwarded_path(raw_path: str, decoded_prefix: str) -> str:
    """The raw part of ``raw_path`` after the route's ``decoded_prefix`` (``/api/proxy/name``).

    The prefix is matched segment by segment after decoding, so an encoded slash in it cannot
    shift where the forwarded part begins.
    """
    count = decoded_prefix.count("/")
    parts = raw_path.split("/", count)
    if len(parts) <= count:
        head, rest = raw_path, ""
    else:
        head, rest = "/".join(parts[:count]), parts[count]
        head_tail, sep, rest = rest.partition("/")
        head = f"{head}/{head_tail}"
        rest = sep + rest
    if _decode(head) != decoded_prefix:
        raise UnsafePath("The path does not match the proxy's route.")
    return rest


def check_path(raw: str) -> str:
    """Return ``raw`` (the part after ``/api/proxy/<upstream>``) if it is safe to forward.

    ``raw`` is empty or starts with ``/``. Raises ``UnsafePath`` otherwise.
    """
    if not raw:
        return raw
    if not raw.startswith("/") or not _RAW_PATH.fullmatch(raw):
        raise UnsafePath("The path holds characters that are not allowed.")
    for escape in _ESCAPE.finditer(raw):
        digits = escape.group("hex")
        if not _HEX.fullmatch(digits):
            raise UnsafePath("The path holds a malformed percent-encoding.")
        value = int(digits, 16)
        if value in _FORBIDDEN_ESCAPES or value < 0x20 or value == 0x7F:
            raise UnsafePath("The path holds an encoded '.', '/', '\\', '%' or control character.")
    if raw.endswith("%") or raw[-2:-1] == "%":
        raise UnsafePath("The path holds a malformed percent-encoding.")
    decoded = _decode(raw)
    if "@" in decoded:
        raise UnsafePath("The path holds '@'.")
    segments = decoded.split("/")[1:]
    for index, segment in enumerate(segments):
        if _reads_as_dot_segment(segment):
            raise UnsafePath("The path holds a '.' or '..' segment, or one an upstream reads so.")
        if not segment and index != len(segments) - 1:
            raise UnsafePath("The path holds an empty segment ('//').")
    if segments and _SCHEME.match(segments[0]):
        raise UnsafePath("The path starts with a scheme.")
    return raw


def _reads_as_dot_segment(segment: str) -> bool:
    """Whether ``segment`` (decoded) is ``.`` or ``..`` as the upstream may read it: as it is,
    without its ``;`` parameters, or after NFKC, which may also split it at a slash."""
    readings = {segment, segment.split(";", 1)[0]}
    for reading in list(readings):
        normalized = unicodedata.normalize("NFKC", reading)
        if normalized != reading and any(c in normalized for c in "/\\"):
            return True  # a full-width slash or backslash: a new segment boundary upstream
        readings.add(normalized.split(";", 1)[0])
    return bool(readings & {".", ".."})


def check_query(raw_query: str) -> str:
    if not _RAW_QUERY.fullmatch(raw_query) or "#" in raw_query:
        raise UnsafePath("The query string holds characters that are not allowed.")
    return raw_query


def _decode(raw: str) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafePath("The path is not valid UTF-8 once decoded.") from exc
