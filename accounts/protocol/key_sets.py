"""An issuer's published key set, cached per process and refetched on an unknown ``kid``.

Issuers rotate keys by publishing the new one before signing with it, so a token whose ``kid`` we
have not seen usually means our copy is old: fetch again, but at most once per
``min_refetch_interval``, so forged ``kid`` values cannot make us hammer the issuer.

When a fetch fails and we hold keys, we keep using them and try again an interval later: they
were the issuer's keys a moment ago, and an outage of its key endpoint should not refuse every
token signed with a key we know. Only with no keys at all is the failure raised.

Free of Django, and of I/O of its own: the caller passes how to fetch. ``accounts.oidc.jwks``
(ID and logout tokens) and ``accounts.resource_server`` (access tokens) both wrap it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from accounts.protocol.key_selection import select_signing_key

logger = logging.getLogger(__name__)

JWK = dict[str, Any]
# A number of seconds, or a callable read on every use (so a Django setting changed under a
# running process, or by override_settings in a test, takes effect at once).
Seconds = float | Callable[[], float]


class KeySetCache:
    """``fetch`` returns the published keys (JWKS ``keys``) or raises one of ``unavailable``.

    Safe to share between threads; one fetch runs at a time, and a thread that waited for
    another's fetch uses its result instead of fetching again.
    """

    def __init__(
        self,
        fetch: Callable[[], list[JWK]],
        *,
        ttl: Seconds,
        min_refetch_interval: Seconds,
        unavailable: tuple[type[Exception], ...],
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._interval = min_refetch_interval
        self._unavailable = unavailable
        self._fetch_lock = threading.Lock()
        self._keys: list[JWK] | None = None  # None: never fetched
        self._fetched_at = float("-inf")  # the last fetch that worked; the TTL counts from it
        self._failed_at = float("-inf")  # the last fetch that did not

    def clear(self) -> None:
        with self._fetch_lock:
            self._keys = None
            self._fetched_at = self._failed_at = float("-inf")

    def signing_key(self, kid: str | None, alg: str) -> JWK | None:
        """The published key for ``kid`` that fits ``alg``, or None if the issuer publishes none.

        Raises what ``fetch`` raised only when there are no keys to answer with.
        """
        if self._due(time.monotonic()):
            self._refresh(self._due)
        key = select_signing_key(self._keys or [], kid, alg)
        if key is None and self._may_refetch(time.monotonic()):
            logger.info("unknown signing key id %r: refetching the key set", kid)
            self._refresh(self._may_refetch)
            key = select_signing_key(self._keys or [], kid, alg)
        return key

    def _due(self, now: float) -> bool:
        if self._keys is None:
            return True  # nothing else to answer with
        expired = now - self._fetched_at >= _seconds(self._ttl)
        return expired and now - self._failed_at >= _seconds(self._interval)

    def _may_refetch(self, now: float) -> bool:
        last_try = max(self._fetched_at, self._failed_at)
        return now - last_try >= _seconds(self._interval)

    def _refresh(self, still_needed: Callable[[float], bool]) -> None:
        with self._fetch_lock:
            if not still_needed(time.monotonic()):
                return  # another thread fetched while this one waited for the lock
            try:
                keys = self._fetch()
            except self._unavailable as exc:
                self._failed_at = time.monotonic()
                if self._keys is None:
                    raise
                logger.warning("fetching the key set failed; keeping the keys we have: %s", exc)
                return
            self._keys, self._fetched_at = keys, time.monotonic()


def _seconds(value: Seconds) -> float:
    return value() if callable(value) else value
