"""Server-provided DPoP nonces (RFC 9449 §9) that need no storage: a nonce is an HMAC of the
current time window, so any process holding the same secret accepts it, and it goes stale by
itself. A nonce limits how long a proof made in advance can be used: one made before the
window began carries no nonce the server accepts. Free of Django."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class HmacNonces:
    """``current()`` is the nonce to hand out; ``accepts(nonce)`` is true for this window's and
    the previous one's, so a nonce handed out just before a window ends still works."""

    def __init__(self, secret: bytes, *, window_seconds: int = 300) -> None:
        if len(secret) < 16:
            raise ValueError("a nonce secret needs at least 16 random bytes")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self._secret = secret
        self._window = window_seconds

    def current(self) -> str:
        return self._nonce(self._window_of(time.time()))

    def accepts(self, nonce: str) -> bool:
        # Bytes, not strings: compare_digest raises on a non-ASCII string, which a client chose.
        given = nonce.encode("utf-8", "surrogatepass")
        window = self._window_of(time.time())
        return any(
            hmac.compare_digest(given, self._nonce(w).encode()) for w in (window, window - 1)
        )

    def _window_of(self, now: float) -> int:
        return int(now // self._window)

    def _nonce(self, window: int) -> str:
        mac = hmac.new(self._secret, str(window).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()
