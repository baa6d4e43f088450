"""Sessions on Redis Sentinel: the primary dies while users browse, and the site keeps serving.

On loopback, in a temporary directory: a Redis primary, one replica (``--replicaof``), three
sentinels (quorum 2, the primary judged down after 1 s), the local provider, and the site under
gunicorn with 2 worker processes configured only with ``REDIS_SENTINELS`` (its ``REDIS_URL``
points at a closed port, so nothing reaches Redis except through the sentinels).

Users log in; their sessions reach the replica; the primary is killed with SIGKILL while a thread
keeps browsing as those users. Shown:

- during the outage a request fails only with the site's clear 503 (JSON
  ``session_store_unavailable`` for API calls, the "Sessions are unavailable" page otherwise):
  never a 500, never a logout;
- once the sentinels promote the replica, the site serves again within a bounded time, without a
  restart, and every user is still logged in as themselves;
- a token refresh after the failover goes through the refresh lock on the new primary and renews
  exactly once for a burst of concurrent requests; a new login works too.

Several web processes behind one address share the sessions and the refresh lock: the 2 gunicorn
workers are two such processes, each finding the primary through the sentinels with its own
connection pool. Any of them serves any user's request (the access log shows both answering), and
the burst's requests, spread over both, renew the token once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.stack import Provider, RedisNode, Site, free_port, log_in_with_requests, wait_until

pytestmark = pytest.mark.integration

SERVICE = "mymaster"
USERS = ("ada", "grace", "edsger", "barbara")
# Access tokens outlive the whole failover (the refresh skew is 1 s), so no refresh can be caught
# halfway by the kill; the refresh after the failover is asked for by widening the skew, which
# takes effect once half a token's life has passed (a token is never renewed earlier).
TOKEN_TTL = 40
# Bounds: the sentinels judge the primary down after 1 s and usually promote within a few more.
PROMOTION_BOUND = 20.0
RECOVERY_BOUND = 10.0
BURST = 30


@dataclass
class RedisSet:
    primary: RedisNode
    replica: RedisNode
    sentinels: list[RedisNode]

    def sentinel_addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def master_port_per_sentinels(self) -> int:
        _, port = self.sentinels[0].client().sentinel_get_master_addr_by_name(SERVICE)
        return int(port)


@pytest.fixture(scope="module")
def redis_set(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sentinel")
    started: list[RedisNode] = []
    try:
        primary = RedisNode.primary(directory)
        started.append(primary.start())
        replica = RedisNode.replica(directory, primary)
        started.append(replica.start())
        wait_until(
            lambda: replica.client().info("replication").get("master_link_status") == "up",
            10,
            "the replica to sync with the primary",
        )
        # Started after the replica is in sync: a sentinel learns of replicas from the primary's
        # INFO, which it asks for at once on connecting and then only every 10 s.
        sentinels = [RedisNode.sentinel(directory, primary, service=SERVICE) for _ in range(3)]
        for sentinel in sentinels:
            started.append(sentinel.start())

        def all_know_each_other() -> bool:
            for sentinel in sentinels:
                state = sentinel.client().sentinel_master(SERVICE)
                if state["num-other-sentinels"] != 2 or state["num-slaves"] != 1:
                    return False
            return True

        wait_until(all_know_each_other, 20, "the sentinels to find each other and the replica")
        yield RedisSet(primary, replica, sentinels)
    finally:
        for node in reversed(started):
            node.stop()


@pytest.fixture(scope="module")
def site_port():
    return free_port()


@pytest.fixture(scope="module")
def provider(site_port):
    url = f"http://127.0.0.1:{site_port}"
    p = Provider(
        redirect_uris=[f"{url}/auth/callback/"],
        post_logout_uris=[f"{url}/"],
        ACCESS_TOKEN_TTL=str(TOKEN_TTL),
    )
    try:
        yield p.start()
    finally:
        p.stop()


@pytest.fixture(scope="module")
def site(provider, site_port, redis_set):
    s = Site(
        provider,
        site_port,
        policy={"refresh_skew": "1s"},
        REDIS_SENTINELS=redis_set.sentinel_addresses(),
        REDIS_SENTINEL_MASTER=SERVICE,
        # A closed port: if anything bypassed the sentinels it would fail, not use another Redis.
        REDIS_URL="redis://127.0.0.1:9/0",
        # Token records are on the replica before a request goes on.
        REDIS_WAIT_REPLICAS="1",
        REDIS_WAIT_TIMEOUT_MS="1000",
    )
    try:
        yield s.start()
    finally:
        s.stop()


@dataclass
class Seen:
    at: float
    user: str
    path: str
    status: int | None
    body: object


class Browsing:
    """A thread that keeps every user browsing (the session API and the account page)."""

    def __init__(self, site_url: str, sessions: dict[str, requests.Session]) -> None:
        self.site_url = site_url
        self.sessions = sessions
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Browsing:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            for user, http in self.sessions.items():
                self._get(user, http, "/auth/session/", {"Accept": "application/json"})
                self._get(user, http, "/account/", {"Accept": "text/html"})
            time.sleep(0.02)

    def _get(self, user: str, http: requests.Session, path: str, headers: dict[str, str]) -> None:
        try:
            response = http.get(
                self.site_url + path, headers=headers, allow_redirects=False, timeout=10
            )
        except requests.RequestException as exc:
            self.seen.append(Seen(time.monotonic(), user, path, None, repr(exc)))
            return
        body: object
        try:
            body = response.json()
        except ValueError:
            body = response.text
        self.seen.append(Seen(time.monotonic(), user, path, response.status_code, body))

    def served_everyone_since(self, since: float) -> bool:
        ok = {(s.user, s.path) for s in list(self.seen) if s.at >= since and s.status == 200}
        return len(ok) == 2 * len(self.sessions)


def problems_with(seen: Seen, claims: dict[str, object]) -> str | None:
    """Why this response is not one the site may give, or None when it is."""
    if seen.status == 200:
        if seen.path == "/auth/session/":
            body = seen.body if isinstance(seen.body, dict) else {}
            if body.get("authenticated") is not True or body.get("user") != claims[seen.user]:
                return "not the same logged-in user"
        elif f"{seen.user}" not in str(seen.body):
            return "the account page does not name the user"
        return None
    if seen.status == 503:
        if seen.path == "/auth/session/":
            body = seen.body if isinstance(seen.body, dict) else {}
            if body.get("error") != "session_store_unavailable":
                return "a 503 without the session_store_unavailable JSON"
        elif "Sessions are unavailable" not in str(seen.body):
            return "a 503 without the clear page"
        return None
    return f"status {seen.status}"


def session_info(site_url: str, http: requests.Session | dict[str, str]) -> requests.Response:
    headers = {"Accept": "application/json"}
    if isinstance(http, dict):  # cookies only: safe to use from several threads
        return requests.get(f"{site_url}/auth/session/", cookies=http, headers=headers, timeout=30)
    return http.get(f"{site_url}/auth/session/", headers=headers, timeout=30)


def keys_and_values(node: RedisNode, prefix: str) -> dict[bytes, bytes | None]:
    client = node.client()
    return {key: client.dump(key) for key in client.keys(f"{prefix}:*")}


def test_users_stay_logged_in_when_the_primary_dies(site, provider, redis_set):
    started = time.monotonic()
    prefix = site.env["REDIS_KEY_PREFIX"]

    # --- users log in; what they wrote reaches the replica --------------------------------
    sessions, logged_in_at, claims = {}, {}, {}
    for user in USERS:
        sessions[user] = log_in_with_requests(site.url, user)
        logged_in_at[user] = time.monotonic()
        info = session_info(site.url, sessions[user]).json()
        assert info["authenticated"] is True
        claims[user] = info["user"]
    provider.reset_stats()

    primary_keys = keys_and_values(redis_set.primary, prefix)
    # The session index is written with raw commands (django_redis.get_redis_connection): it went
    # to the primary the sentinels named, as the sessions did.
    assert len([k for k in primary_keys if b":user-sessions:" in k]) == len(USERS)
    assert len([k for k in primary_keys if k.endswith(b":tokens")]) == len(USERS)
    wait_until(
        lambda: (
            keys_and_values(redis_set.replica, prefix) == keys_and_values(redis_set.primary, prefix)
        ),
        10,
        "the replica to hold every key of the primary",
    )

    # --- the primary dies while everyone browses ------------------------------------------
    with Browsing(site.url, sessions) as browsing:
        wait_until(lambda: browsing.served_everyone_since(started), 10, "browsing to start")
        killed_at = time.monotonic()
        redis_set.primary.kill()

        wait_until(
            lambda: redis_set.master_port_per_sentinels() == redis_set.replica.port,
            PROMOTION_BOUND,
            "the sentinels to promote the replica",
        )
        promoted_at = time.monotonic()
        wait_until(
            lambda: browsing.served_everyone_since(promoted_at),
            RECOVERY_BOUND,
            "the site to serve every user again after the promotion",
        )
        recovered_at = time.monotonic()
        time.sleep(0.5)  # a little more browsing on the new primary

    seen = browsing.seen
    wrong = [(s, why) for s in seen if (why := problems_with(s, claims))]
    assert not wrong, f"{len(wrong)} wrong responses, first: {wrong[:5]}"
    during = [s for s in seen if killed_at <= s.at < recovered_at]
    failed = [s for s in during if s.status != 200]
    assert failed, "the kill should have been noticed by some request"
    assert {s.status for s in failed} == {503}
    print(
        f"\nfailover: replica promoted {promoted_at - killed_at:.1f}s after the kill, every user "
        f"served again {recovered_at - killed_at:.1f}s after it; last 503 at "
        f"{max(s.at for s in failed) - killed_at:.1f}s; {len(failed)} of the {len(during)} "
        f"responses in between were 503, none anything else ({len(seen)} responses in all)"
    )
    # Served by the same processes throughout: the site was not restarted, no worker crashed.
    assert site.process.alive()
    assert site.process.log().count("Booting worker") == site.workers

    # --- every user is still logged in, as themselves, on the promoted replica --------------
    for user, http in sessions.items():
        info = session_info(site.url, http)
        assert info.status_code == 200
        assert info.json()["authenticated"] is True
        assert info.json()["user"] == claims[user]
        page = http.get(f"{site.url}/account/session/", allow_redirects=False, timeout=10)
        assert page.status_code == 200, f"{user}: {page.status_code}"
    assert redis_set.replica.client().info("replication")["role"] == "master"
    ready = requests.get(f"{site.url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text

    # --- a refresh after the failover: once, for a burst over both workers -------------------
    assert provider.stats()["refresh_grants"] == 0, "no token was due during the failover"
    user = USERS[0]
    # Widen the skew so the user's token is due now but the renewed one is not: past half its
    # life the token's skew is capped at TOKEN_TTL / 2, and the renewed token has all of its.
    time.sleep(max(0.0, TOKEN_TTL / 2 + 0.5 - (time.monotonic() - logged_in_at[user])))
    site.set_policy(refresh_skew=f"{TOKEN_TTL - 3}s")
    cookies = sessions[user].cookies.get_dict()
    lines_before = len(site.access_log.read_text().splitlines())
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        burst = list(pool.map(lambda _: session_info(site.url, cookies), range(BURST)))
    assert [r.status_code for r in burst] == [200] * BURST
    assert all(r.json()["authenticated"] and r.json()["user"] == claims[user] for r in burst)
    assert provider.stats() == {
        "refresh_grants": 1,
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }
    site.set_policy(refresh_skew="1s")
    burst_workers = {
        line.split(">")[0] for line in site.access_log.read_text().splitlines()[lines_before:]
    }
    assert len(burst_workers) == 2, "the burst should have reached both worker processes"

    # --- a new login writes to the new primary ---------------------------------------------
    newcomer = log_in_with_requests(site.url, "katherine")
    assert session_info(site.url, newcomer).json()["authenticated"] is True
    assert len(redis_set.replica.client().keys(f"{prefix}:user-sessions:*")) == len(USERS) + 1

    print(f"test body took {time.monotonic() - started:.1f}s")
