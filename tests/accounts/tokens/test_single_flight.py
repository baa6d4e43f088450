"""One renewal per session at a time: the per-process lock, then the Redis lock."""

import logging
import threading
import time

import pytest

from accounts.exceptions import TokenUnavailable
from accounts.metrics import LOCK_TIMEOUTS, LOCK_WAITS
from accounts.tokens.single_flight import single_flight


@pytest.fixture
def short_waits(settings, monkeypatch):
    """Locks that give up after half a second instead of the refresh timeout + 5 s."""
    settings.OIDC_REFRESH_TIMEOUT = (0.1, 0.2)
    monkeypatch.setattr("accounts.tokens.single_flight._LOCK_MARGIN", 0.2)


def lock_key(settings, session_key):
    # The session key as a hash tag: on a Redis Cluster the lock sits with the session's keys.
    return f"{settings.REDIS_KEY_PREFIX}:refresh-lock:{{{session_key}}}"


def run_together(*bodies):
    threads = [threading.Thread(target=body) for body in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


def holder(session_key, spans, hold=0.2):
    def body():
        with single_flight(session_key):
            start = time.monotonic()
            time.sleep(hold)
            spans.append((start, time.monotonic()))

    return body


def test_threads_of_one_session_take_turns(redis_client):
    spans: list[tuple[float, float]] = []
    waits = LOCK_WAITS._value.get()
    run_together(holder("s1", spans), holder("s1", spans))
    (_, first_end), (second_start, _) = sorted(spans)
    assert second_start >= first_end
    assert LOCK_WAITS._value.get() == waits + 1


def test_different_sessions_do_not_wait_for_each_other(redis_client):
    spans: list[tuple[float, float]] = []
    run_together(holder("s1", spans, hold=0.3), holder("s2", spans, hold=0.3))
    (_, first_end), (second_start, _) = sorted(spans)
    assert second_start < first_end


def test_the_redis_lock_outlives_the_provider_call(settings, redis_client):
    settings.OIDC_REFRESH_TIMEOUT = (3.0, 10.0)
    with single_flight("s1"):
        ttl = redis_client.pttl(lock_key(settings, "s1"))
    assert 13_000 < ttl <= 18_000  # connect + read + the margin to write the record
    assert redis_client.exists(lock_key(settings, "s1")) == 0  # released


def test_the_redis_lock_outlives_a_retried_refresh_too(settings, redis_client):
    settings.OIDC_REFRESH_TIMEOUT = (3.0, 10.0)
    settings.OIDC_REFRESH_REUSE_INTERVAL = 30
    with single_flight("s1"):
        ttl = redis_client.pttl(lock_key(settings, "s1"))
    assert 26_000 < ttl <= 31_000  # two attempts, then the margin


def test_another_process_holding_the_lock_makes_this_one_wait_then_give_up(
    settings, redis_client, short_waits
):
    # Another process (or host) holds the lock for longer than this one will wait.
    redis_client.set(lock_key(settings, "s1"), "other-process", px=5_000)
    timeouts = LOCK_TIMEOUTS._value.get()
    started = time.monotonic()
    with pytest.raises(TokenUnavailable, match="being renewed"), single_flight("s1"):
        pytest.fail("entered while another process held the lock")
    assert 0.4 <= time.monotonic() - started < 3
    assert LOCK_TIMEOUTS._value.get() == timeouts + 1
    assert redis_client.get(lock_key(settings, "s1")) == b"other-process"  # not ours to free


def test_the_lock_is_taken_once_another_process_lets_go(settings, redis_client, short_waits):
    redis_client.set(lock_key(settings, "s1"), "other-process", px=150)
    entered = []
    with single_flight("s1"):
        entered.append(True)
    assert entered == [True]


def test_a_lock_that_ran_out_before_release_is_logged(settings, redis_client, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="accounts.tokens.single_flight"),
        single_flight("s1"),
    ):
        redis_client.delete(lock_key(settings, "s1"))  # as if its TTL had passed
    assert "refresh lock expired before release" in caplog.text


def test_an_error_inside_releases_both_locks(settings, redis_client):
    with pytest.raises(RuntimeError), single_flight("s1"):
        raise RuntimeError("the provider call failed")
    assert redis_client.exists(lock_key(settings, "s1")) == 0
    spans: list[tuple[float, float]] = []
    run_together(holder("s1", spans, hold=0))
    assert len(spans) == 1
