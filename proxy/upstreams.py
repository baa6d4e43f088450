"""The allow-list of upstreams: ``PROXY_UPSTREAMS`` parsed into ``Upstream`` objects.

Only the name in the URL picks an upstream; the scheme, host and port come from here alone, so
nothing in a request can send it (or the user's token) anywhere else.

An entry is a base URL or a dict::

    PROXY_UPSTREAMS = {
        "notes": {
            "url": "http://127.0.0.1:8002/api",
            "auth": "required",           # "required" | "optional" | "none"
            "methods": ["GET", "POST"],
            "connect_timeout": 3.05,
            "read_timeout": 30,           # seconds between two reads; null waits forever
            "max_body_bytes": 10485760,
            "audience": null,             # the token's audience, when not the default one
            "scope": null,
            "websocket": false,           # true: WebSocket handshakes are proxied too
            "max_message_bytes": 1048576, # largest WebSocket message, either way
            "dpop": false,                # true: "Authorization: DPoP" with a proof (RFC 9449)
            "acr": null,                  # step-up: acr value(s) the login must have met
            "max_age": null,              # step-up: seconds since the user authenticated
        },
    }

``acr`` and ``max_age`` need ``"auth": "required"``: a call whose session's login falls short
gets ``401 {"error": "step_up_required", "login_url", ...}`` and never reaches the upstream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import urllib3
from django.core.exceptions import ImproperlyConfigured

from accounts.api import AuthenticationRequirement, InvalidRequirement
from proxy.conf import proxy_settings
from proxy.exceptions import UnknownUpstream

AuthMode = Literal["required", "optional", "none"]
AUTH_MODES: tuple[AuthMode, ...] = ("required", "optional", "none")
# CONNECT and TRACE are not proxied at all: one opens tunnels, the other echoes headers back.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_CONNECT_TIMEOUT = 3.05  # just over TCP's 3 s retransmission window, as requests advises
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
# A WebSocket message is held whole before it is relayed: this bounds the memory one costs.
DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
_FIELDS = frozenset(
    {
        "url",
        "auth",
        "methods",
        "connect_timeout",
        "read_timeout",
        "max_body_bytes",
        "audience",
        "scope",
        "websocket",
        "max_message_bytes",
        "dpop",
        "acr",
        "max_age",
    }
)


class UpstreamConfigError(ImproperlyConfigured, ValueError):
    """An entry of ``PROXY_UPSTREAMS`` is malformed; the message names the entry and field.
    The system check ``proxy.E002`` reports it before the first request."""


@dataclass(frozen=True)
class Upstream:
    name: str
    scheme: str
    netloc: str
    base_path: str  # without a trailing slash; "" for the root
    auth: AuthMode
    methods: frozenset[str]
    connect_timeout: float
    read_timeout: float | None
    max_body_bytes: int
    audience: str | None
    scope: str | None
    websocket: bool = False
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # The token goes as a DPoP-bound one, with a proof of this site's key on every call.
    dpop: bool = False
    # What the session's login must meet before a call goes upstream (empty: any login).
    requirement: AuthenticationRequirement | None = None

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def host(self) -> str:
        return urlsplit(self.origin).hostname or ""

    @cached_property
    def timeout(self) -> urllib3.Timeout:
        # The read timeout bounds each wait for bytes, not the whole answer: a long download or
        # a server-sent event stream that keeps talking is never cut.
        return urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout)

    def target_for(self, path: str, query: str) -> str:
        """The request target (path and query) upstream. ``path`` must already be checked by
        ``proxy.paths``: it starts with ``/`` or is empty."""
        target = f"{self.base_path}{path}" or "/"
        return f"{target}?{query}" if query else target


def parse_upstream(name: str, entry: Any) -> Upstream:
    if not isinstance(name, str) or not name or "/" in name:
        raise UpstreamConfigError(f"upstream name {name!r} must be a non-empty string without '/'")
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict):
        raise UpstreamConfigError(f"upstream {name!r} must be a URL or a dict, not {entry!r}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise UpstreamConfigError(f"upstream {name!r} has unknown fields {sorted(unknown)}")
    parts = urlsplit(str(entry.get("url", "")))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UpstreamConfigError(f"upstream {name!r}: url must be an absolute http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UpstreamConfigError(
            f"upstream {name!r}: url must have no query, fragment or credentials"
        )
    auth = entry.get("auth", "required")
    if auth not in AUTH_MODES:
        raise UpstreamConfigError(f"upstream {name!r}: auth must be one of {AUTH_MODES}")
    websocket = entry.get("websocket", False)
    if not isinstance(websocket, bool):
        raise UpstreamConfigError(f"upstream {name!r}: websocket must be true or false")
    dpop = entry.get("dpop", False)
    if not isinstance(dpop, bool):
        raise UpstreamConfigError(
            f"upstream {name!r}: dpop must be true or false (JSON true, not {dpop!r})"
        )
    if dpop and auth == "none":
        raise UpstreamConfigError(
            f'upstream {name!r}: dpop needs a token to bind; auth "none" sends none'
        )
    methods = frozenset(str(m).upper() for m in entry.get("methods", DEFAULT_METHODS))
    if not methods or not methods <= KNOWN_METHODS:
        raise UpstreamConfigError(
            f"upstream {name!r}: methods must be a non-empty subset of {sorted(KNOWN_METHODS)}"
        )
    return Upstream(
        name=name,
        scheme=parts.scheme,
        netloc=parts.netloc,
        base_path=parts.path.rstrip("/"),
        auth=cast(AuthMode, auth),
        methods=methods,
        connect_timeout=_seconds(name, "connect_timeout", entry, DEFAULT_CONNECT_TIMEOUT),
        read_timeout=_optional_seconds(name, "read_timeout", entry, DEFAULT_READ_TIMEOUT),
        max_body_bytes=_non_negative_int(name, "max_body_bytes", entry, DEFAULT_MAX_BODY_BYTES),
        audience=_optional_str(name, "audience", entry),
        scope=_optional_str(name, "scope", entry),
        websocket=websocket,
        max_message_bytes=_positive_int(
            name, "max_message_bytes", entry, DEFAULT_MAX_MESSAGE_BYTES
        ),
        dpop=dpop,
        requirement=_requirement(name, entry, auth),
    )


def parse_upstreams(raw: Any) -> dict[str, Upstream]:
    if not isinstance(raw, dict):
        raise UpstreamConfigError("PROXY_UPSTREAMS must be a mapping of name to upstream")
    return {name: parse_upstream(name, entry) for name, entry in raw.items()}


class _ParsedCache:
    """Parses ``PROXY_UPSTREAMS`` once per value of the setting, not once per request.

    The parsed table is keyed on the identity of the setting's object, so
    ``override_settings`` (which puts a new object there) is seen at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raw: Any = None
        self._parsed: dict[str, Upstream] = {}

    def get(self) -> dict[str, Upstream]:
        raw = proxy_settings.PROXY_UPSTREAMS
        with self._lock:
            if raw is self._raw:
                return self._parsed
        parsed = parse_upstreams(raw)
        with self._lock:
            self._raw, self._parsed = raw, parsed
        return parsed


_cache = _ParsedCache()


def configured_upstreams() -> dict[str, Upstream]:
    return _cache.get()


def get_upstream(name: str) -> Upstream:
    upstream = configured_upstreams().get(name)
    if upstream is None:
        raise UnknownUpstream(f"There is no upstream named {name!r}.")
    return upstream


def _seconds(name: str, field: str, entry: dict[str, Any], default: float) -> float:
    value = entry.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UpstreamConfigError(f"upstream {name!r}: {field} must be a positive number")
    return float(value)


def _optional_seconds(name: str, field: str, entry: dict[str, Any], default: float) -> float | None:
    if field in entry and entry[field] is None:
        return None
    return _seconds(name, field, entry, default)


def _non_negative_int(name: str, field: str, entry: dict[str, Any], default: int) -> int:
    value = entry.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UpstreamConfigError(f"upstream {name!r}: {field} must be a whole number >= 0")
    return value


def _positive_int(name: str, field: str, entry: dict[str, Any], default: int) -> int:
    value = _non_negative_int(name, field, entry, default)
    if value == 0:
        raise UpstreamConfigError(f"upstream {name!r}: {field} must be a whole number > 0")
    return value


def _requirement(name: str, entry: dict[str, Any], auth: str) -> AuthenticationRequirement | None:
    acr, max_age = entry.get("acr"), entry.get("max_age")
    try:
        requirement = AuthenticationRequirement.from_settings(acr, max_age)
    except InvalidRequirement as exc:
        raise UpstreamConfigError(f"upstream {name!r}: {exc}") from exc
    if requirement and auth != "required":
        raise UpstreamConfigError(
            f"upstream {name!r}: acr and max_age need auth 'required' (a login to check)"
        )
    return requirement or None


def _optional_str(name: str, field: str, entry: dict[str, Any]) -> str | None:
    value = entry.get(field)
    if value is not None and (not isinstance(value, str) or not value):
        raise UpstreamConfigError(f"upstream {name!r}: {field} must be a non-empty string")
    return value
