"""accounts.protocol.key_sets: caching, the rate-limited refetch, and keeping old keys through a
failed fetch. A fake fetch and a clock that only moves when told."""

import threading
import time

import pytest

from accounts.protocol.key_sets import KeySetCache

OLD = {"kty": "RSA", "kid": "old", "n": "...", "e": "AQAB"}
NEW = {"kty": "RSA", "kid": "new", "n": "...", "e": "AQAB"}


class Down(Exception):
    pass


class Issuer:
    """What the fake key endpoint publishes, whether it answers, and how often it was asked."""

    def __init__(self, *keys):
        self.keys = list(keys)
        self.down = False
        self.fetches = 0

    def fetch(self):
        self.fetches += 1
        if self.down:
            raise Down("the key endpoint is down")
        return list(self.keys)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("accounts.protocol.key_sets.time", clock)
    return clock


@pytest.fixture
def issuer():
    return Issuer(OLD)


def cache_for(issuer, ttl=3600, interval=30):
    return KeySetCache(issuer.fetch, ttl=ttl, min_refetch_interval=interval, unavailable=(Down,))


def test_keys_are_fetched_once_and_kept_for_the_ttl(issuer, clock):
    cache = cache_for(issuer)
    assert cache.signing_key("old", "RS256") is not None
    clock.now += 3599
    assert cache.signing_key("old", "RS256") is not None
    assert issuer.fetches == 1
    clock.now += 1
    assert cache.signing_key("old", "RS256") is not None
    assert issuer.fetches == 2


def test_an_unknown_kid_refetches_at_most_once_per_interval(issuer, clock):
    cache = cache_for(issuer)
    cache.signing_key("old", "RS256")
    clock.now += 29
    for _ in range(5):
        assert cache.signing_key("forged", "RS256") is None
    assert issuer.fetches == 1
    clock.now += 1
    issuer.keys.append(NEW)
    assert cache.signing_key("new", "RS256")["kid"] == "new"
    assert cache.signing_key("forged", "RS256") is None
    assert issuer.fetches == 2


def test_ttl_and_interval_may_be_read_on_every_use(issuer, clock):
    settings = {"interval": 30}
    cache = KeySetCache(
        issuer.fetch,
        ttl=lambda: 3600,
        min_refetch_interval=lambda: settings["interval"],
        unavailable=(Down,),
    )
    cache.signing_key("old", "RS256")
    cache.signing_key("forged", "RS256")
    assert issuer.fetches == 1
    settings["interval"] = 0
    cache.signing_key("forged", "RS256")
    assert issuer.fetches == 2


def test_with_no_keys_a_failed_fetch_is_raised_and_tried_again_next_time(issuer, clock):
    cache = cache_for(issuer)
    issuer.down = True
    for _ in range(2):
        with pytest.raises(Down):
            cache.signing_key("old", "RS256")
    assert issuer.fetches == 2
    issuer.down = False
    assert cache.signing_key("old", "RS256") is not None


def test_a_failed_refetch_keeps_the_old_keys_and_waits_an_interval(issuer, clock):
    cache = cache_for(issuer)
    cache.signing_key("old", "RS256")
    issuer.down = True
    clock.now += 3600  # the TTL is up: a refetch, which fails
    assert cache.signing_key("old", "RS256") is not None
    assert issuer.fetches == 2
    # Neither the TTL nor unknown kids try again before an interval has passed...
    assert cache.signing_key("old", "RS256") is not None
    assert cache.signing_key("forged", "RS256") is None
    assert issuer.fetches == 2
    # ...and after one, the next lookup does, and takes the new keys once they come.
    clock.now += 30
    issuer.down = False
    issuer.keys = [NEW]
    assert cache.signing_key("old", "RS256") is None
    assert cache.signing_key("new", "RS256") is not None
    assert issuer.fetches == 3


def test_an_unexpected_error_is_not_mistaken_for_an_outage(issuer, clock):
    cache = cache_for(issuer)
    cache.signing_key("old", "RS256")

    def broken():
        raise KeyError("a bug, not an outage")

    cache._fetch = broken
    clock.now += 3600
    with pytest.raises(KeyError):
        cache.signing_key("old", "RS256")


def test_clear_forgets_the_keys(issuer, clock):
    cache = cache_for(issuer)
    cache.signing_key("old", "RS256")
    cache.clear()
    cache.signing_key("old", "RS256")
    assert issuer.fetches == 2


def test_threads_waiting_for_a_fetch_use_its_result(issuer, clock):
    started, release = threading.Event(), threading.Event()

    def slow_fetch():
        started.set()
        release.wait(5)
        return issuer.fetch()

    cache = KeySetCache(slow_fetch, ttl=3600, min_refetch_interval=30, unavailable=(Down,))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.signing_key("old", "RS256")))
        for _ in range(4)
    ]
    threads[0].start()
    started.wait(5)
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(results) == 4
    assert all(r is not None for r in results)
    assert issuer.fetches == 1
