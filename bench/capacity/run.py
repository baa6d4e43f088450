"""The figures of the capacity model in docs/deployment.md, measured on this machine.

    apt-get install -y wrk
    .venv/bin/python -m bench.capacity.run [--copies 20000] [--rounds 3] [--duration 8]

It starts a Redis of its own, a Redis Cluster of six nodes (tests/deployment/redis_cluster.py),
the local provider, a small aiohttp upstream and the site twice (one on each), each site with
ONE worker pinned to CPU 0 (``taskset``), wrk and everything else on CPU 1. Then:

1. **Memory per session**: ``MEMORY USAGE`` of each key of real logins' sessions, and the growth
   of ``used_memory`` for N copies of one (``DUMP``/``RESTORE`` under new session keys, each with
   a user index set of its own), on the single Redis.
2. **Redis commands** per login, page view (``/account/``), proxied call, renewal and activity
   write, from ``INFO commandstats`` (summed over the primaries on the cluster).
3. **Requests per second on one core**: wrk ``-t1 -c16`` for a page and a proxied call, on each
   Redis, alternated in rounds; the median of each.

Results are printed and written to test-artifacts/bench-capacity/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import requests

from bench.proxy.run import machine, start_redis
from tests.deployment.redis_cluster import TestCluster
from tests.proxy.servers import child_pids
from tests.stack import (
    ARTIFACTS,
    Process,
    Provider,
    Site,
    free_port,
    log_in_with_requests,
    wait_until,
)

WORK = ARTIFACTS / "bench-capacity"
TOKEN_TTL = 30
PROXIED = {"X-CSRF": "1", "Accept": "application/json"}


class Backend:
    """One site with one pinned worker, and the Redis (or cluster) it uses."""

    def __init__(self, name: str, provider: Provider, port: int, upstream: str, **env: str):
        self.name = name
        self.site = Site(
            provider, port, workers=1, PROXY_UPSTREAMS=upstream, LOG_LEVEL="WARNING", **env
        )

    def start(self) -> Backend:
        self.site.start()
        assert self.site.process is not None
        # The site (gunicorn's master, its one worker, every thread) on CPU 0 only.
        master = self.site.process.proc.pid
        for pid in [master, *child_pids(master)]:
            subprocess.run(
                ["taskset", "-a", "-p", "-c", "0", str(pid)], check=True, capture_output=True
            )
        return self


def command_calls(nodes: list[redis.Redis]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for node in nodes:
        if node.info("replication")["role"] != "master":
            continue
        for name, stats in node.info("commandstats").items():
            command = name.removeprefix("cmdstat_")
            if command not in {"info", "replconf", "hello"}:
                totals[command] = totals.get(command, 0) + int(stats["calls"])
    return totals


def commands_for(nodes: list[redis.Redis], action, times: int) -> dict[str, float]:
    before = command_calls(nodes)
    for _ in range(times):
        action()
    after = command_calls(nodes)
    return {
        name: round((after.get(name, 0) - before.get(name, 0)) / times, 3)
        for name in after
        if after.get(name, 0) != before.get(name, 0)
    }


def measure_commands(backend: Backend, nodes: list[redis.Redis]) -> dict[str, Any]:
    site = backend.site
    site.set_policy(refresh_skew="1s", activity_interval="60s")
    time.sleep(1.2)  # each process's copy of the policy is a second old at most (cluster)
    logins = commands_for(nodes, lambda: log_in_with_requests(site.url), 5)
    http = log_in_with_requests(site.url)
    cookies = http.cookies.get_dict()
    logged_in = time.monotonic()

    def page():
        assert requests.get(site.url + "/account/", cookies=cookies, timeout=10).ok

    def proxied():
        r = requests.get(site.url + "/api/proxy/up/health", cookies=cookies, headers=PROXIED)
        assert r.ok, r.text

    page(), proxied()  # connections open
    result = {
        "login": logins,
        "page view": commands_for(nodes, page, 200),
        "proxied call": commands_for(nodes, proxied, 200),
    }
    # Renewal: past half the token's life, a skew that makes it due; one page view renews it.
    time.sleep(max(0.0, TOKEN_TTL / 2 + 0.5 - (time.monotonic() - logged_in)))
    site.set_policy(refresh_skew=f"{TOKEN_TTL - 3}s")
    time.sleep(1.2)
    result["page view with a renewal"] = commands_for(nodes, page, 1)
    site.set_policy(refresh_skew="1s", activity_interval="1s")
    time.sleep(1.2)
    result["page view with an activity write"] = commands_for(nodes, page, 1)
    site.set_policy(activity_interval="60s")
    return result


def memory_per_session(client: redis.Redis, site: Site, copies: int) -> dict[str, Any]:
    prefix = site.env["REDIS_KEY_PREFIX"]
    by_kind: dict[str, list[int]] = {}
    for n in range(5):
        http = log_in_with_requests(site.url, f"memory{n}")
        session_key = http.cookies["sessionid"]
        for key in client.keys(f"*{session_key}*"):
            kind = key.decode().rsplit("}", 1)[1] or "session"
            by_kind.setdefault(kind, []).append(int(client.memory_usage(key, samples=0)))
    for kind, pattern in (("user index set", "user-sessions"), ("sid index", "sid")):
        for key in client.keys(f"{prefix}:{pattern}:*"):
            by_kind.setdefault(kind, []).append(int(client.memory_usage(key, samples=0)))
    per_key = {kind: statistics.median(sizes) for kind, sizes in by_kind.items()}

    # N copies of the last session, as N users with one session each (and a sid each).
    keys = sorted(k.decode() for k in client.keys(f"*{session_key}*"))
    dumps = {k: (client.dump(k), client.pttl(k)) for k in keys}
    ttl = client.ttl(keys[0])
    with_sid = bool(client.keys(f"{prefix}:sid:*"))
    client.memory_purge()
    before = int(client.info("memory")["used_memory"])
    pipe = client.pipeline(transaction=False)
    for n in range(copies):
        copy = f"copy{n:028d}"
        for key, (dumped, pttl) in dumps.items():
            pipe.restore(key.replace(session_key, copy), pttl, dumped)
        pipe.sadd(f"{prefix}:user-sessions:copy{n}", copy)
        pipe.expire(f"{prefix}:user-sessions:copy{n}", ttl)
        if with_sid:
            pipe.set(f"{prefix}:sid:{n:08d}-0000-4000-8000-000000000000", copy, ex=ttl)
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()
    after = int(client.info("memory")["used_memory"])
    return {
        "memory_usage_per_key": per_key,
        "sum_of_memory_usage": sum(per_key.values()),
        "used_memory_growth_per_session": round((after - before) / copies),
        "copies": copies,
    }


def redis_per_core(client: redis.Redis, redis_pid: int, site: Site) -> dict[str, Any]:
    """MGETs of one real session's three keys per second that one Redis core answers
    (redis-benchmark, 50 connections): Redis on CPU 1, the benchmark on CPU 0."""
    http = log_in_with_requests(site.url)
    keys = sorted(k.decode() for k in client.keys(f"*{http.cookies['sessionid']}*"))
    subprocess.run(
        ["taskset", "-a", "-p", "-c", "1", str(redis_pid)], check=True, capture_output=True
    )
    argv = [
        "taskset",
        "-c",
        "0",
        "redis-benchmark",
        "-p",
        str(client.connection_pool.connection_kwargs["port"]),
        "-c",
        "50",
        "-n",
        "200000",
        "-q",
        "MGET",
        *keys,
    ]
    rounds = []
    for _ in range(3):
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        rounds.append(float(re.findall(r"([\d.]+) requests per second", out)[-1]))
    return {"mget_per_second": rounds, "median": statistics.median(rounds)}


_WRK = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk(url: str, cookie: str, *, proxied: bool, duration: int) -> float:
    argv = ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{duration}s", "-H", f"Cookie: {cookie}"]
    if proxied:
        argv += ["-H", "X-CSRF: 1"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    return float(_WRK.search(out).group(1))  # type: ignore[union-attr]


def requests_per_core(backends: list[Backend], rounds: int, duration: int) -> dict[str, Any]:
    seen: dict[str, list[float]] = {}
    for r in range(rounds):
        order = backends[r % 2 :] + backends[: r % 2]
        for backend in order:
            for kind, path in (("page", "/account/"), ("proxied", "/api/proxy/up/health")):
                http = log_in_with_requests(backend.site.url)
                cookie = f"sessionid={http.cookies['sessionid']}"
                rps = wrk(
                    backend.site.url + path, cookie, proxied=kind == "proxied", duration=duration
                )
                seen.setdefault(f"{backend.name} {kind}", []).append(rps)
                print(f"  round {r + 1} {backend.name:8} {kind:8} {rps:8.0f} req/s", flush=True)
    return {name: {"rounds": v, "median": statistics.median(v)} for name, v in seen.items()}


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    started: list[Any] = []
    try:
        redis_port = free_port()
        started.append(start_redis(redis_port))
        cluster = TestCluster(Path(tempfile.mkdtemp())).start()
        started.append(cluster)
        upstream_port = free_port()
        started.append(
            Process(
                "bench-capacity-upstream",
                [
                    "taskset",
                    "-c",
                    "1",
                    sys.executable,
                    "-m",
                    "bench.streams.upstream",
                    str(upstream_port),
                ],
                {**os.environ},
            )
        )
        wait_until(lambda: _answers(f"http://127.0.0.1:{upstream_port}/health"), 10, "upstream")
        ports = {"single": free_port(), "cluster": free_port()}
        provider = Provider(
            redirect_uris=[f"http://127.0.0.1:{p}/auth/callback/" for p in ports.values()],
            post_logout_uris=[f"http://127.0.0.1:{p}/" for p in ports.values()],
            ACCESS_TOKEN_TTL=str(TOKEN_TTL),
            PROVIDER_LOG="0",
        ).start()
        started.append(provider)
        upstream = json.dumps({"up": f"http://127.0.0.1:{upstream_port}"})
        single = Backend(
            "single",
            provider,
            ports["single"],
            upstream,
            REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        ).start()
        started.append(single.site)
        on_cluster = Backend(
            "cluster",
            provider,
            ports["cluster"],
            upstream,
            REDIS_CLUSTER="1",
            REDIS_URL=cluster.url(),
        ).start()
        started.append(on_cluster.site)
        single_nodes = [redis.Redis(port=redis_port)]
        cluster_nodes = [n.client() for n in cluster.nodes]

        results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
        print("Redis commands per action", flush=True)
        results["commands"] = {
            "single": measure_commands(single, single_nodes),
            "cluster": measure_commands(on_cluster, cluster_nodes),
        }
        print(json.dumps(results["commands"], indent=2), flush=True)
        print("requests per second, one worker on one core", flush=True)
        results["requests_per_core"] = requests_per_core(
            [single, on_cluster], args.rounds, args.duration
        )
        print("Redis MGETs per core", flush=True)
        results["redis_per_core"] = redis_per_core(
            single_nodes[0], started[0].proc.pid, single.site
        )
        print(json.dumps(results["redis_per_core"]), flush=True)
        print("memory per session", flush=True)
        results["memory"] = memory_per_session(single_nodes[0], single.site, args.copies)
        print(json.dumps(results["memory"], indent=2), flush=True)
        (WORK / "results.json").write_text(json.dumps(results, indent=2))
        print(json.dumps(results["requests_per_core"], indent=2))
    finally:
        for thing in reversed(started):
            thing.stop()


if __name__ == "__main__":
    main()
