"""Two web hosts on one Redis Cluster, and a primary killed while users browse.

On loopback: a Redis Cluster of six ``redis-server`` processes (three primaries, three replicas,
``cluster-node-timeout`` 1 s), the local provider, an upstream for the proxy, and the site under
gunicorn twice, as two hosts behind a load balancer would run it: two separate server processes
on their own ports, configured only with ``REDIS_CLUSTER=1`` and ``REDIS_URL`` naming two nodes,
sharing the cluster and the database. A browser's cookie works on either host.

Shown: a session made on one host is the same session on the other, in one slot, for one
``MGET`` per request; a session ended on one host is refused by the other at once, and its
open stream there closes; a refresh storm split across both hosts renews once; and when a
primary dies during traffic, requests wait or get the clear 503, nobody is logged out, and
renewal still happens once per expiry on the promoted replica.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from redis.crc import key_slot

from tests.deployment.redis_cluster import TestCluster
from tests.proxy.servers import EchoServer
from tests.stack import ARTIFACTS, Provider, Site, free_port, log_in_with_requests, wait_until

pytestmark = pytest.mark.integration

# Access tokens live long enough that none comes due while a primary is down (a refresh is never
# sent before half a token's life); the storms ask for one by widening the refresh skew.
TOKEN_TTL = 20
PREFIX = "cluster-site"
JSON = {"Accept": "application/json"}
PROXIED = {"Accept": "application/json", "X-CSRF": "1"}


@dataclass
class Hosts:
    a: Site
    b: Site
    provider: Provider
    cluster: TestCluster

    def both(self) -> tuple[Site, Site]:
        return self.a, self.b

    def set_policy(self, **values: str) -> None:
        self.a.set_policy(**values)
        # Each process reads the policy again once its copy is a second old.
        time.sleep(1.2)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    started: list[Any] = []
    try:
        cluster = TestCluster(tmp_path_factory.mktemp("cluster")).start()
        started.append(cluster)
        ports = [free_port(), free_port()]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        provider = Provider(
            redirect_uris=[f"{u}/auth/callback/" for u in urls],
            post_logout_uris=[f"{u}/" for u in urls],
            ACCESS_TOKEN_TTL=str(TOKEN_TTL),
            # A provider that takes its time, so a storm's requests all arrive while one renews.
            REFRESH_DELAY_MS="300",
        ).start()
        started.append(provider)
        echo = EchoServer().start()
        started.append(echo)
        database = ARTIFACTS / "cluster-hosts.sqlite3"
        database.unlink(missing_ok=True)
        env = {
            "REDIS_CLUSTER": "1",
            "REDIS_URL": cluster.url(),
            "REDIS_KEY_PREFIX": PREFIX,
            "DATABASE_URL": f"sqlite:///{database}",
            "PROXY_UPSTREAMS": json.dumps({"echo": {"url": echo.url + "/base"}}),
            # A renewed token record is on the shard's replica before the request goes on.
            "REDIS_WAIT_REPLICAS": "1",
            "REDIS_WAIT_TIMEOUT_MS": "1000",
        }
        sites = []
        for port in ports:
            site = Site(provider, port, workers=1, policy={"refresh_skew": "1s"}, **env)
            started.append(site.start())
            sites.append(site)
        yield Hosts(sites[0], sites[1], provider, cluster)
    finally:
        for thing in reversed(started):
            thing.stop()


def session_info(site: Site, cookies: dict[str, str]) -> requests.Response:
    return requests.get(f"{site.url}/auth/session/", cookies=cookies, headers=JSON, timeout=30)


def proxied(site: Site, cookies: dict[str, str], path: str = "/api/proxy/echo/x"):
    return requests.get(site.url + path, cookies=cookies, headers=PROXIED, timeout=30)


def csrf_post(http: requests.Session, site: Site, path: str, data: dict[str, str] | None = None):
    http.get(f"{site.url}/account/session/", timeout=10)  # sets the CSRF cookie
    return http.post(
        site.url + path,
        data=data or {},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )


def test_a_session_is_one_slot_and_one_mget_whichever_host_serves_it(hosts):
    http = log_in_with_requests(hosts.a.url, "ada")
    cookies = http.cookies.get_dict()
    session_key = cookies["sessionid"]
    keys = hosts.cluster.keys(f"*{session_key}*")
    assert len(keys) == 3
    assert len({key_slot(k) for k in keys}) == 1
    on_a = session_info(hosts.a, cookies).json()
    assert on_a["authenticated"] is True
    assert session_info(hosts.b, cookies).json()["user"] == on_a["user"]
    answer = proxied(hosts.b, cookies)
    assert answer.status_code == 200
    assert answer.json() == {"method": "GET", "target": "/base/x"}
    for site in hosts.both():  # readiness asks the cluster too
        assert requests.get(f"{site.url}/readyz", timeout=10).json() == {"status": "ok"}

    # Redis commands per request, on the cluster's primaries: one MGET per page or proxied
    # call; besides, each process reads the shared policy at most once a second. (After a first
    # round, which opens the connections.)
    def calls(rounds):
        for site in hosts.both():
            for _ in range(rounds):
                assert session_info(site, cookies).status_code == 200
                assert proxied(site, cookies).status_code == 200

    calls(10)
    before = hosts.cluster.command_calls()
    started = time.monotonic()
    calls(25)
    seconds = time.monotonic() - started
    after = hosts.cluster.command_calls()
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    assert delta.pop("mget") == 100
    others = {name: count for name, count in delta.items() if count}
    # The policy's GET: two processes, once a second each at most.
    assert set(others) <= {"get"}
    assert others.get("get", 0) <= 2 * (seconds + 1)


def test_a_session_ended_on_one_host_is_refused_by_the_other_at_once(hosts):
    laptop = log_in_with_requests(hosts.a.url, "grace")
    phone = log_in_with_requests(hosts.b.url, "grace")
    phone_cookies = phone.cookies.get_dict()
    assert session_info(hosts.b, phone_cookies).json()["authenticated"] is True
    stream = requests.get(
        f"{hosts.b.url}/api/proxy/echo/events?count=100&interval=0.2",
        cookies=phone_cookies,
        headers=PROXIED,
        stream=True,
        timeout=10,
    )
    assert stream.status_code == 200
    chunks = stream.iter_content(None)
    assert next(chunks)

    # From the laptop, on host A: log out every other session of grace's.
    ended = csrf_post(laptop, hosts.a, "/account/session/end/", {"all": "1"})
    assert ended.status_code == 302
    started = time.monotonic()
    assert session_info(hosts.b, phone_cookies).json() == {"authenticated": False}
    assert proxied(hosts.b, phone_cookies).status_code == 401
    for _ in chunks:  # the open stream on host B ends, long before its 100 events
        pass
    assert time.monotonic() - started < 5

    # Logging out on host B ends the laptop's session for host A too.
    laptop_cookies = laptop.cookies.get_dict()
    assert session_info(hosts.b, laptop_cookies).json()["authenticated"] is True
    assert csrf_post(laptop, hosts.b, "/auth/logout/").status_code == 302
    assert session_info(hosts.a, laptop_cookies).json() == {"authenticated": False}


def storm(hosts: Hosts, cookies: dict[str, str], n: int = 40) -> list[requests.Response]:
    """``n`` concurrent requests of one session, alternately to host A and B, pages and proxied
    calls."""

    def one(i: int) -> requests.Response:
        site = hosts.a if i % 2 == 0 else hosts.b
        return session_info(site, cookies) if i % 4 < 2 else proxied(site, cookies)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def make_due(hosts: Hosts, since_login: float) -> None:
    """Wait until tokens obtained at ``since_login`` are half-way through their life, then widen
    the skew so they are due (a renewed one is not: it has all of its life ahead)."""
    time.sleep(max(0.0, TOKEN_TTL / 2 + 0.5 - (time.monotonic() - since_login)))
    hosts.set_policy(refresh_skew=f"{TOKEN_TTL - 3}s")


def test_a_refresh_storm_split_across_both_hosts_renews_once(hosts):
    http = log_in_with_requests(hosts.b.url, "edsger")
    logged_in = time.monotonic()
    cookies = http.cookies.get_dict()
    hosts.provider.reset_stats()
    make_due(hosts, logged_in)
    try:
        answers = storm(hosts, cookies)
    finally:
        hosts.set_policy(refresh_skew="1s")
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert hosts.provider.stats() == {
        "refresh_grants": 1,
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }
    assert session_info(hosts.a, cookies).json()["authenticated"] is True


# --- a primary dies ------------------------------------------------------------------------


@dataclass
class Seen:
    at: float
    took: float
    user: str
    kind: str
    status: int | None
    body: object


class Browsing:
    """A thread per host that keeps every user calling the session API and the proxy."""

    def __init__(self, hosts: Hosts, users: dict[str, dict[str, str]]) -> None:
        self.hosts = hosts
        self.users = users
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(s,)) for s in hosts.both()]

    def __enter__(self) -> Browsing:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, site: Site) -> None:
        while not self._stop.is_set():
            for user, cookies in self.users.items():
                self._call(user, "page", lambda c=cookies: session_info(site, c))
                self._call(user, "proxy", lambda c=cookies: proxied(site, c))
            time.sleep(0.02)

    def _call(self, user: str, kind: str, call) -> None:
        started = time.monotonic()
        try:
            response = call()
        except requests.RequestException as exc:
            self.seen.append(Seen(started, 0.0, user, kind, None, repr(exc)))
            return
        try:
            body: object = response.json()
        except ValueError:
            body = response.text
        took = time.monotonic() - started
        self.seen.append(Seen(started, took, user, kind, response.status_code, body))

    def served_everyone_since(self, since: float) -> bool:
        ok = {(s.user, s.kind) for s in list(self.seen) if s.at >= since and s.status == 200}
        return len(ok) == 2 * len(self.users)


def problems_with(seen: Seen, claims: dict[str, object]) -> str | None:
    """Why this response is not one the site may give, or None when it is."""
    body = seen.body if isinstance(seen.body, dict) else {}
    if seen.status == 200:
        if seen.kind == "page" and (
            body.get("authenticated") is not True or body.get("user") != claims[seen.user]
        ):
            return "not the same logged-in user"
        if seen.kind == "proxy" and body != {"method": "GET", "target": "/base/x"}:
            return "not the upstream's answer"
        return None
    if seen.status == 503 and body.get("error") == "session_store_unavailable":
        return None
    return f"status {seen.status}: {seen.body!r}"[:300]


def test_users_stay_logged_in_when_a_primary_dies(hosts):
    cluster = hosts.cluster
    users: dict[str, dict[str, str]] = {}
    claims: dict[str, object] = {}
    for name in ("ada", "barbara", "frances", "katherine", "margaret", "radia"):
        http = log_in_with_requests(hosts.a.url if len(users) % 2 else hosts.b.url, name)
        users[name] = http.cookies.get_dict()
        claims[name] = session_info(hosts.a, users[name]).json()["user"]
    logged_in = time.monotonic()
    hosts.provider.reset_stats()
    by_primary: dict[int, list[str]] = {}
    for name, cookies in users.items():
        node = cluster.primary_holding("{" + cookies["sessionid"] + "}")
        by_primary.setdefault(node.port, []).append(name)
    victim_port = max(by_primary, key=lambda port: len(by_primary[port]))
    victim = next(n for n in cluster.nodes if n.port == victim_port)
    replica = cluster.replica_of(victim)
    assert replica is not None
    on_victim = by_primary[victim_port]

    with Browsing(hosts, users) as browsing:
        wait_until(lambda: browsing.served_everyone_since(logged_in), 10, "browsing to start")
        killed_at = time.monotonic()
        victim.kill()
        wait_until(lambda: cluster.role(replica) == "master", 20, "the replica's promotion")
        promoted_at = time.monotonic()
        wait_until(
            lambda: browsing.served_everyone_since(promoted_at),
            10,
            "both hosts to serve every user again",
        )
        recovered_at = time.monotonic()
        time.sleep(0.5)

    seen = browsing.seen
    wrong = [(s, why) for s in seen if (why := problems_with(s, claims))]
    assert not wrong, f"{len(wrong)} wrong responses, first: {wrong[:5]}"
    during = [s for s in seen if killed_at <= s.at < recovered_at]
    unavailable = [s for s in during if s.status == 503]
    waited = [s for s in during if s.status == 200 and s.user in on_victim and s.took > 0.5]
    print(
        f"\ncluster failover: {len(on_victim)} of {len(users)} users' sessions on the killed "
        f"primary; replica promoted {promoted_at - killed_at:.1f}s after the kill, every user "
        f"served on both hosts {recovered_at - killed_at:.1f}s after it; of {len(during)} "
        f"responses in between, {len(unavailable)} were 503, {len(waited)} waited (longest "
        f"{max((s.took for s in during), default=0):.1f}s) and were served; "
        f"{len(seen)} responses in all, none a logout"
    )
    for site in hosts.both():
        assert site.process is not None
        assert site.process.alive()

    # Nobody was logged out: every user, on both hosts, as themselves.
    for name, cookies in users.items():
        for site in hosts.both():
            info = session_info(site, cookies)
            assert info.status_code == 200
            assert info.json()["authenticated"] is True, f"{name} was logged out"
            assert info.json()["user"] == claims[name]
    assert hosts.provider.stats()["refresh_grants"] == 0, "no token was due during the failover"

    # Renewal after the failover: once per user, for a storm split across both hosts.
    make_due(hosts, logged_in)
    try:
        for cookies in users.values():
            assert [r.status_code for r in storm(hosts, cookies, n=20)] == [200] * 20
    finally:
        hosts.set_policy(refresh_skew="1s")
    assert hosts.provider.stats() == {
        "refresh_grants": len(users),
        "authorization_code_grants": 0,
        "refresh_failures": 0,
    }
