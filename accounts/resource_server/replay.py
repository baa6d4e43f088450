"""Where DPoP proofs' ``jti`` are remembered, so that a proof is accepted once (RFC 9449 §11.1).

A replay cache is anything with ``first_use(key, seconds) -> bool``: true the first time ``key``
is seen within ``seconds``, false after. ``MemoryReplayCache`` is for tests and a single process;
several processes (gunicorn workers, hosts) must share one, or a proof refused by one could be
replayed to another: the Django helper's keeps them in the project's cache, Redis here
(``accounts.resource_server.conf``). Free of Django.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class ReplayCache(Protocol):
    def first_use(self, key: str, seconds: int) -> bool:
        """Remember ``key`` for ``seconds``; false if it was already remembered. May raise
        ``ReplayCheckUnavailable`` (503) when the store does not answer."""
        ...


class MemoryReplayCache:
    """A replay cache in this process's memory. Expired keys are dropped as new ones come, so
    it holds at most the keys of one window's worth of proofs."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiries: dict[str, float] = {}
        self._next_sweep = 0.0

    def first_use(self, key: str, seconds: int) -> bool:
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._expiries = {k: t for k, t in self._expiries.items() if t > now}
                self._next_sweep = now + 10
            expiry = self._expiries.get(key)
            if expiry is not None and expiry > now:
                return False
            self._expiries[key] = now + seconds
            return True
