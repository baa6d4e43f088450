"""Waiting out a Redis Cluster failover instead of failing every request during it.

When a primary dies, the cluster needs a moment (about twice ``cluster-node-timeout``) to agree
that it is gone and promote its replica. redis-py retries a command that failed on a dead node,
but at once and a fixed number of times: on loopback, ten tries take 30 ms, and the request then
fails. Here a command that fails the way a failover makes commands fail is tried again after a
pause (50 ms, doubling up to 0.5 s) until ``failover_wait`` seconds have passed since its first
try; then the error goes up as a ``redis`` ``ConnectionError``, which the site answers with its
503 (never as "no session": nobody is logged out by an outage).

Only single commands wait (the session's ``MGET``, writes, the refresh lock's ``SET NX`` and
scripts, ``PUBLISH``); pipelines across slots (the admin's session list, the session index's
upkeep) are left to redis-py's own retries. The rule is one pure object, ``FailoverWait``; the
sync and asyncio clients below only sleep differently.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    RedisClusterException,
    RedisError,
    SlotNotCoveredError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 0.5


class ClusterUnavailable(RedisConnectionError):
    """No node of the cluster could serve the command within the failover wait."""


def during_failover(exc: BaseException) -> bool:
    """Whether ``exc`` is how a command fails while a primary is down or being replaced.

    Connection errors and timeouts (the dead node), ``CLUSTERDOWN`` (the cluster has marked it
    failed and not yet promoted its replica), a slot no node serves, and a topology refresh that
    reached no node. Not a command the client refused before any I/O (keys of several slots in
    one command): that is a bug, and it must not look like an outage.
    """
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | ClusterDownError):
        return True
    if isinstance(exc, SlotNotCoveredError):
        return True
    return isinstance(exc, RedisClusterException) and isinstance(
        exc.__cause__, RedisError | OSError
    )


@dataclass
class FailoverWait:
    """The pauses between tries of one command, from its first try at ``started``."""

    budget: float
    started: float
    tries: int = 1

    def pause_after_failure(self, now: float) -> float | None:
        """How long to sleep before the next try, or None: give up now."""
        pause = min(_FIRST_PAUSE * float(2 ** (self.tries - 1)), _LONGEST_PAUSE)
        if now + pause > self.started + self.budget:
            return None
        self.tries += 1
        return pause


def _give_up(exc: Exception) -> NoReturn:
    # redis-py's cluster errors that are not RedisErrors become one, so that every caller's
    # handling of Redis errors (a 503, never "no session") covers them.
    if isinstance(exc, RedisError):
        raise exc
    raise ClusterUnavailable(f"the Redis Cluster did not answer: {exc}") from exc


class FailoverWaitingCluster(RedisCluster):
    """redis-py's ``RedisCluster`` whose single commands wait out a failover."""

    failover_wait: float = 0.0

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        wait = FailoverWait(self.failover_wait, time.monotonic())
        while True:
            try:
                return super().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
            except Exception as exc:
                if not during_failover(exc):
                    raise
                pause = wait.pause_after_failure(time.monotonic())
                if pause is None:
                    _give_up(exc)
                time.sleep(pause)


class AsyncFailoverWaitingCluster(AsyncRedisCluster):
    """redis-py's asyncio ``RedisCluster`` whose single commands wait out a failover."""

    failover_wait: float = 0.0

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        wait = FailoverWait(self.failover_wait, time.monotonic())
        while True:
            try:
                return await super().execute_command(*args, **kwargs)
            except Exception as exc:
                if not during_failover(exc):
                    raise
                pause = wait.pause_after_failure(time.monotonic())
                if pause is None:
                    _give_up(exc)
                await asyncio.sleep(pause)
