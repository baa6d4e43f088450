"""Soak: N users for M minutes through 2 gunicorn workers, mixed page and API traffic, access
tokens living 5 s, refresh tokens rotating with reuse revoking the grant.

Reports forced logouts (target 0), 5xx answers (target 0), provider refresh calls against the
refreshes the site made (target equal: one call per expiry), refresh failures, and latency.

Run: .venv/bin/python bench/soak/run.py --users 50 --minutes 5
It starts its own Redis (a free port), the local provider, the sample API and the site.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.refresh.run import machine, pct, start_redis  # noqa: E402
from tests.proxy.servers import SampleAPI  # noqa: E402
from tests.stack import Provider, Site, free_port, log_in_with_requests  # noqa: E402

TOKEN_TTL = 5
CALLS = {"X-CSRF": "1", "Accept": "application/json"}


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.forced_logouts = 0
        self.server_errors: list[str] = []

    def record(self, kind: str, response: requests.Response, seconds: float) -> None:
        logged_out = (
            response.status_code == 401
            or (response.status_code == 302 and "/auth/login/" in response.headers["Location"])
            or (kind == "session" and response.ok and not response.json()["authenticated"])
        )
        with self.lock:
            self.statuses[f"{kind} {response.status_code}"] += 1
            self.latencies.append(seconds)
            if logged_out:
                self.forced_logouts += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{kind} {response.status_code} {response.text[:120]}")


def user_loop(site_url: str, http: requests.Session, deadline: float, tally: Tally) -> None:
    rng = random.Random()
    while time.monotonic() < deadline:
        roll = rng.random()
        started = time.perf_counter()
        if roll < 0.3:
            kind, r = "page", http.get(f"{site_url}/account/", allow_redirects=False, timeout=30)
        elif roll < 0.5:
            kind, r = "session", http.get(f"{site_url}/auth/session/", headers=CALLS, timeout=30)
        elif roll < 0.9:
            kind, r = (
                "api",
                http.get(f"{site_url}/api/proxy/notes/notes", headers=CALLS, timeout=30),
            )
        else:
            kind, r = (
                "api-post",
                http.post(
                    f"{site_url}/api/proxy/notes/notes",
                    json={"text": "soak"},
                    headers=CALLS,
                    timeout=30,
                ),
            )
        tally.record(kind, r, time.perf_counter() - started)
        time.sleep(rng.uniform(0.1, 0.9))  # a person, or a page's script, between calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    args = parser.parse_args()

    redis_proc, redis_url = start_redis()
    os.environ["TEST_REDIS_URL"] = redis_url
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = Provider(
        redirect_uris=[f"{url}/auth/callback/"],
        post_logout_uris=[f"{url}/"],
        ACCESS_TOKEN_TTL=str(TOKEN_TTL),
        PROVIDER_LOG="0",
    ).start()
    api = SampleAPI(provider.issuer).start()
    site = Site(
        provider,
        port,
        workers=2,
        policy={"refresh_skew": "1s"},
        PROXY_UPSTREAMS=json.dumps({"notes": {"url": api.url}}),
    ).start()
    try:
        print(f"# machine: {machine()}")
        print(f"# command: {' '.join(sys.argv)}")
        browsers = [log_in_with_requests(url, f"user{i}") for i in range(args.users)]
        provider.reset_stats()
        log_start = len(site.process.log())
        tally = Tally()
        deadline = time.monotonic() + args.minutes * 60
        threads = [
            threading.Thread(target=user_loop, args=(url, http, deadline, tally))
            for http in browsers
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        stats = provider.stats()
        site_refreshes = site.process.log()[log_start:].count("tokens refreshed:")
        total = sum(tally.statuses.values())
        print(
            f"users {args.users}, {elapsed / 60:.1f} min, {total} requests "
            f"({total / elapsed:.0f}/s)"
        )
        print(f"forced logouts: {tally.forced_logouts} (target 0)")
        print(f"5xx: {len(tally.server_errors)} (target 0)")
        for line in tally.server_errors[:5]:
            print("   ", line)
        print(
            f"provider refresh calls: {stats['refresh_grants']}; refreshes the site made: "
            f"{site_refreshes} (target equal); provider refresh failures: "
            f"{stats['refresh_failures']}"
        )
        print(
            f"token lifetimes elapsed per user: {elapsed / (TOKEN_TTL - 1):.0f} "
            f"(an active user renews about once per {TOKEN_TTL - 1} s)"
        )
        print(
            f"latency p50 {pct(tally.latencies, 0.5):.0f} ms, p99 "
            f"{pct(tally.latencies, 0.99):.0f} ms, max {max(tally.latencies) * 1000:.0f} ms, "
            f"mean {statistics.mean(tally.latencies) * 1000:.0f} ms"
        )
        print("answers:", dict(sorted(tally.statuses.items())))
    finally:
        site.stop()
        api.stop()
        provider.stop()
        redis_proc.terminate()


if __name__ == "__main__":
    main()
