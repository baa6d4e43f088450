"""On a Redis Cluster: this process's copies of the values every session shares (the session
policy), read again when they are a second old.

On one Redis those values ride in each session's own ``MGET`` (``records.register_prefetch``) and
cost nothing. On a cluster they live in another slot than nearly every session, and one ``MGET``
cannot span slots; reading them beside each session would double the Redis commands of every
request. So each process keeps what it last read and reads it again (one ``GET`` per value) only
when the copy is older than ``MAX_AGE``: a policy saved in the admin reaches every process within
that second, the process that saved it at once (``lifetimes`` keeps the new value here). The
sync store and the asyncio reader share these rules and differ only in how they ``GET``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

# A second: an admin's change to the lifetimes is seen everywhere before anyone could notice,
# and a process reads each shared value once a second, not once a request.
MAX_AGE = 1.0

_copies: dict[str, tuple[float, Any]] = {}
_guard = threading.Lock()


def due(names: Iterable[str], *, now: float | None = None) -> list[str]:
    """The names whose copy is missing, unusable (None) or older than ``MAX_AGE``."""
    at = time.monotonic() if now is None else now
    with _guard:
        return [
            name
            for name in names
            if (held := _copies.get(name)) is None or held[1] is None or at - held[0] >= MAX_AGE
        ]


def keep(name: str, value: Any, *, now: float | None = None) -> None:
    with _guard:
        _copies[name] = (time.monotonic() if now is None else now, value)


def held(names: Iterable[str]) -> dict[str, Any]:
    """The copies of ``names`` as held (None where there is none)."""
    with _guard:
        return {name: (_copies.get(name) or (0.0, None))[1] for name in names}


def forget() -> None:
    with _guard:
        _copies.clear()
