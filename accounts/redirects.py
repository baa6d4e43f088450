"""Where a user may be sent after login or logout: local paths only.

``next`` comes from the browser, so it is attacker-controlled. Django's
``url_has_allowed_host_and_scheme`` also admits absolute URLs to allowed hosts; we admit less: a
path that starts with exactly one ``/``, with no scheme, host, backslash or control character,
checked both as given and after percent-decoding (browsers and proxies decode in different places).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def safe_next_path(candidate: str | None, default: str = "/") -> str:
    """Return ``candidate`` if it is a safe local path, else ``default``."""
    if not candidate or len(candidate) > 2000:
        return default
    if not (_is_local_path(candidate) and _is_local_path(unquote(candidate))):
        return default
    return candidate


def _is_local_path(value: str) -> bool:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    if "\\" in value:
        return False
    if not value.startswith("/") or value.startswith("//"):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc
