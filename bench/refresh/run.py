"""Benchmark the token refresh middleware.

1. Cost when no refresh is due: Redis commands per request (counted by a dedicated Redis
   server's INFO commandstats) and requests/s of GET /auth/session/ with and without
   TokenRefreshMiddleware, alternated in rounds; the ratio of each round is reported.
2. A thundering herd: 200 concurrent requests of one session that all see an expired access
   token, against a provider answering refreshes in DELAY ms. Reports provider refresh calls,
   wall time, and the slowest request against one provider round trip.

Run: .venv/bin/python bench/refresh/run.py [--rounds 5] [--requests 2000] [--delay-ms 300]
It starts its own Redis (a free port), the local provider and gunicorn sites; nothing else is
touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.stack import Provider, Site, free_port, log_in_with_requests  # noqa: E402


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    directory = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def command_count(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k not in ("cmdstat_info",))


def load(url: str, cookies: dict, total: int, concurrency: int) -> tuple[float, list[float]]:
    def one(_):
        t = time.perf_counter()
        r = session.get(url, cookies=cookies, headers={"Accept": "application/json"}, timeout=30)
        assert r.status_code == 200 and r.json()["authenticated"], r.text
        return time.perf_counter() - t

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=concurrency)
    session.mount("http://", adapter)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(total)))
    return total / (time.perf_counter() - started), latencies


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo, open("/proc/meminfo") as meminfo:
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
            platform.machine(),
        )
        mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return f"{cpu}, {os.cpu_count()} cores, {mem_kib / 2**20:.0f} GiB"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--delay-ms", type=int, default=300)
    parser.add_argument("--herd", type=int, default=200)
    args = parser.parse_args()

    redis_proc, redis_url = start_redis()
    os.environ["TEST_REDIS_URL"] = redis_url
    client = redis.Redis.from_url(redis_url)
    with_port, without_port, herd_port = free_port(), free_port(), free_port()
    sites_urls = [f"http://127.0.0.1:{p}" for p in (with_port, without_port, herd_port)]
    fast = Provider(
        redirect_uris=[f"{s}/auth/callback/" for s in sites_urls],
        post_logout_uris=[f"{s}/" for s in sites_urls],
        PROVIDER_LOG="0",
    ).start()
    slow = Provider(
        redirect_uris=[f"{s}/auth/callback/" for s in sites_urls],
        post_logout_uris=[f"{s}/" for s in sites_urls],
        ACCESS_TOKEN_TTL="5",
        REFRESH_DELAY_MS=str(args.delay_ms),
        PROVIDER_LOG="0",
    ).start()
    settings = {"DJANGO_SETTINGS_MODULE": "bench.refresh.settings"}
    with_mw = Site(fast, with_port, **settings).start()
    without_mw = Site(fast, without_port, BENCH_WITHOUT_REFRESH="1", **settings).start()
    herd_site = Site(slow, herd_port, policy={"refresh_skew": "1s"}).start()
    try:
        print(
            f"# machine: {machine()}, "
            f"{platform.python_implementation()} {platform.python_version()}"
        )
        print(f"# command: {' '.join(sys.argv)}")

        http_with = log_in_with_requests(with_mw.url)
        http_without = log_in_with_requests(without_mw.url)

        # Redis commands per request when no refresh is due.
        before = command_count(client)
        n = 200
        for _ in range(n):
            r = http_with.get(
                with_mw.url + "/auth/session/", headers={"Accept": "application/json"}
            )
            assert r.json()["authenticated"]
        per_request = (command_count(client) - before) / n
        print(
            f"redis commands per request, refresh middleware on, no refresh due: {per_request:.2f}"
        )

        ratios, results = [], {"with": [], "without": []}
        for round_no in range(1, args.rounds + 1):
            rps_without, lat_without = load(
                without_mw.url + "/auth/session/",
                http_without.cookies.get_dict(),
                args.requests,
                args.concurrency,
            )
            rps_with, lat_with = load(
                with_mw.url + "/auth/session/",
                http_with.cookies.get_dict(),
                args.requests,
                args.concurrency,
            )
            results["with"].append((rps_with, pct(lat_with, 0.5), pct(lat_with, 0.99)))
            results["without"].append((rps_without, pct(lat_without, 0.5), pct(lat_without, 0.99)))
            ratios.append(rps_with / rps_without)
            print(
                f"round {round_no}: with {rps_with:.0f} req/s, without {rps_without:.0f} req/s,"
                f" ratio {rps_with / rps_without:.3f}"
            )
        for name, rows in results.items():
            print(
                f"{name:8s} median req/s {statistics.median(r[0] for r in rows):.0f}, "
                f"p50 {statistics.median(r[1] for r in rows):.1f} ms, "
                f"p99 {statistics.median(r[2] for r in rows):.1f} ms"
            )
        print(f"median ratio with/without: {statistics.median(ratios):.3f}")

        # The thundering herd.
        http = log_in_with_requests(herd_site.url)
        slow.reset_stats()
        time.sleep(6)  # the 5 s access token expires
        rps, latencies = load(
            herd_site.url + "/auth/session/", http.cookies.get_dict(), args.herd, args.herd
        )
        stats = slow.stats()
        print(
            f"herd: {args.herd} concurrent requests after expiry, provider refresh delay "
            f"{args.delay_ms} ms"
        )
        print(
            f"  provider refresh calls: {stats['refresh_grants']} "
            f"(failures {stats['refresh_failures']})"
        )
        print(
            f"  wall time {args.herd / rps * 1000:.0f} ms; latency p50 {pct(latencies, 0.5):.0f}"
            f" ms, p99 {pct(latencies, 0.99):.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        # The same herd with a fresh token: what queueing for 2 x 4 worker threads costs alone.
        rps, latencies = load(
            herd_site.url + "/auth/session/", http.cookies.get_dict(), args.herd, args.herd
        )
        print(
            f"  baseline, token fresh: wall time {args.herd / rps * 1000:.0f} ms; latency p50 "
            f"{pct(latencies, 0.5):.0f} ms, p99 {pct(latencies, 0.99):.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms; provider refresh calls now "
            f"{slow.stats()['refresh_grants']}"
        )
    finally:
        for s in (with_mw, without_mw, herd_site):
            s.stop()
        fast.stop()
        slow.stop()
        redis_proc.terminate()


if __name__ == "__main__":
    main()
