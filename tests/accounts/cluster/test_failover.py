"""Waiting out a failover: which errors are waited on, for how long, and that the callers see a
Redis error (their 503) once the wait is over, never anything else."""

import asyncio

import pytest
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.cluster.failover import (
    AsyncFailoverWaitingCluster,
    ClusterUnavailable,
    FailoverWait,
    FailoverWaitingCluster,
    during_failover,
)


def cannot_connect():
    try:
        raise RedisConnectionError("Connection refused")
    except RedisConnectionError as cause:
        try:
            raise RedisClusterException("Redis Cluster cannot be connected") from cause
        except RedisClusterException as exc:
            return exc


@pytest.mark.parametrize(
    "exc",
    [
        RedisConnectionError("Connection refused"),
        RedisTimeoutError("Timeout reading from socket"),
        ClusterDownError("The cluster is down"),
        SlotNotCoveredError("slot 5 is not covered"),
        cannot_connect(),
    ],
)
def test_what_a_failover_looks_like_is_waited_out(exc):
    assert during_failover(exc)


@pytest.mark.parametrize(
    "exc",
    [
        RedisClusterException("MGET - all keys must map to the same key slot"),
        ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ValueError("not Redis at all"),
    ],
)
def test_a_bug_or_a_refused_command_is_not(exc):
    assert not during_failover(exc)


def test_pauses_double_up_to_half_a_second_within_the_budget():
    wait = FailoverWait(budget=3.0, started=100.0)
    pauses, now = [], 100.0
    while (pause := wait.pause_after_failure(now)) is not None:
        pauses.append(pause)
        now += pause
    assert pauses[:5] == [0.05, 0.1, 0.2, 0.4, 0.5]
    assert set(pauses[4:]) == {0.5}
    assert 2.5 <= sum(pauses) <= 3.0


def test_no_budget_means_no_wait():
    assert FailoverWait(budget=0.0, started=0.0).pause_after_failure(0.0) is None


class Flaky:
    """execute_command that fails ``failures`` times with ``exc``, then answers."""

    def __init__(self, exc, failures):
        self.exc, self.failures, self.calls = exc, failures, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "answer"


def sync_client(monkeypatch, flaky, wait):
    monkeypatch.setattr(RedisCluster, "execute_command", lambda self, *a, **k: flaky(*a, **k))
    client = FailoverWaitingCluster.__new__(FailoverWaitingCluster)
    client.failover_wait = wait
    return client


def test_a_command_waits_until_the_cluster_answers_again(monkeypatch):
    flaky = Flaky(RedisConnectionError("refused"), failures=3)
    assert sync_client(monkeypatch, flaky, wait=2.0).execute_command("GET", "k") == "answer"
    assert flaky.calls == 4


def test_after_the_wait_the_caller_gets_a_redis_error(monkeypatch):
    flaky = Flaky(cannot_connect(), failures=1000)
    with pytest.raises(ClusterUnavailable):
        sync_client(monkeypatch, flaky, wait=0.2).execute_command("GET", "k")
    assert 2 <= flaky.calls <= 5
    down = Flaky(ClusterDownError("down"), failures=1000)
    with pytest.raises(ClusterDownError):
        sync_client(monkeypatch, down, wait=0.0).execute_command("GET", "k")
    assert down.calls == 1


def test_a_bug_is_raised_at_once(monkeypatch):
    flaky = Flaky(RedisClusterException("keys in several slots"), failures=1000)
    with pytest.raises(RedisClusterException):
        sync_client(monkeypatch, flaky, wait=5.0).execute_command("MGET", "a", "b")
    assert flaky.calls == 1


def test_the_asyncio_client_waits_the_same_way(monkeypatch):
    flaky = Flaky(RedisConnectionError("refused"), failures=2)

    async def execute(self, *args, **kwargs):
        return flaky(*args, **kwargs)

    monkeypatch.setattr(AsyncRedisCluster, "execute_command", execute)
    client = AsyncFailoverWaitingCluster.__new__(AsyncFailoverWaitingCluster)
    client.failover_wait = 2.0
    assert asyncio.run(client.execute_command("MGET", "a")) == "answer"
    assert flaky.calls == 3
