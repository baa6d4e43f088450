"""Slow-body clients against the site: does `/healthz` keep answering, does the proxy keep its
throughput?

    apt-get install -y nginx-light wrk
    .venv/bin/python -m bench.slow_bodies.run --slow 1000 --rounds 3 --duration 10

The site is served as shipped (`gunicorn -c config/gunicorn.py`: 2 workers, each one event loop
with 8 page threads). ``--slow`` connections each send a page `POST /` announcing a 50,000-byte
body, send 13 bytes of it and then wait. Phases without and with them alternate over
``--rounds``; in each, `/healthz` is fetched on a new connection every 0.1 s and timed, first
for 5 s alone, then while wrk (16 connections) sends the small proxied GET
(`/api/proxy/bench/data.json`, logged in, to nginx on 127.0.0.1).

Targets: `/healthz` p99 <= 100 ms with the slow connections held; the small GET's throughput
with them within 20 % of without them.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time

import requests

from bench.proxy.run import (
    WORK,
    log_in,
    machine,
    start_nginx,
    start_provider,
    start_redis,
    start_site,
    wrk,
)
from bench.streams.run import Sampler, percentile, raise_open_files_limit
from tests.stack import free_port

SLOW_HEAD = (
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000\r\n\r\n"
)
SLOW_START = b"a=1&b=2&c=3&d"  # 13 bytes of the 50,000 announced


def open_slow(port: int, count: int) -> list[socket.socket]:
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(SLOW_HEAD + SLOW_START)
        held.append(s)
    return held


def still_open(held: list[socket.socket]) -> int:
    """How many the site has neither answered nor closed."""
    waiting = 0
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                continue
        except BlockingIOError:
            waiting += 1
    return waiting


def healthz_timer(url: str):
    def sample():
        started = time.monotonic()
        try:
            status = requests.get(url, timeout=30).status_code
        except requests.RequestException as exc:
            status = repr(exc)[:80]
        return (time.monotonic() - started) * 1000, status

    return sample


def timed_healthz(url: str, during) -> tuple[list[float], int, object]:
    sampler = Sampler(healthz_timer(url), 0.1)
    sampler.start()
    result = during()
    samples = sampler.stop()
    ok = [ms for ms, status in samples if status == 200]
    return ok, len(samples) - len(ok), result


def phase(site_url: str, site_port: int, cookie: str, slow: int, duration: int) -> dict:
    held = open_slow(site_port, slow) if slow else []
    try:
        time.sleep(1)  # every slow connection accepted and waiting for its body
        idle, idle_failed, _ = timed_healthz(site_url + "/healthz", lambda: time.sleep(5))
        busy, busy_failed, load = timed_healthz(
            site_url + "/healthz",
            lambda: wrk(
                site_url + "/api/proxy/bench/data.json",
                {"Cookie": cookie, "X-CSRF": "1"},
                threads=2,
                connections=16,
                duration=duration,
            ),
        )
        waiting = still_open(held)
    finally:
        for s in held:
            s.close()

    def stats(values):
        return {
            "n": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(max(values), 1),
        }

    return {
        "slow": slow,
        "slow_still_waiting_at_end": waiting,
        "healthz_ms": {"alone": idle, "under_wrk": busy},
        "healthz_alone": {**stats(idle), "failed": idle_failed},
        "healthz_under_wrk": {**stats(busy), "failed": busy_failed},
        "small_get": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slow", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds per phase")
    args = parser.parse_args()
    limit = raise_open_files_limit()
    WORK.mkdir(parents=True, exist_ok=True)
    upstream_port, nginx_port, site_port, redis_port = (free_port() for _ in range(4))
    site_url = f"http://127.0.0.1:{site_port}"
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    started = []
    try:
        started.append(start_nginx(upstream_port, nginx_port))
        started.append(start_redis(redis_port))
        provider = start_provider(site_url)
        started.append(provider)
        site = start_site(
            site_port,
            provider,
            {"bench": {"url": upstream_url}},
            upstream_url,
            f"redis://127.0.0.1:{redis_port}/0",
        )
        started.append(site)
        print(f"machine: {machine()}; open-files limit {limit}", flush=True)
        phases = []
        for r in range(args.rounds):
            # Alternate which goes first, so neither always runs on a warmer site.
            order = (0, args.slow) if r % 2 == 0 else (args.slow, 0)
            for slow in order:
                cookie = f"sessionid={log_in(site_url).cookies['sessionid']}"
                phases.append(phase(site_url, site_port, cookie, slow, args.duration))
                shown = {k: v for k, v in phases[-1].items() if k != "healthz_ms"}
                print(f"round {r + 1}: {json.dumps(shown)}", flush=True)
        without = [p for p in phases if not p["slow"]]
        with_slow = [p for p in phases if p["slow"]]
        rounds = range(args.rounds)
        summary = {
            "small_get_rps_median_without": statistics.median(
                p["small_get"]["rps"] for p in without
            ),
            "small_get_rps_median_with": statistics.median(
                p["small_get"]["rps"] for p in with_slow
            ),
            "with_over_without_per_round": [
                round(with_slow[i]["small_get"]["rps"] / without[i]["small_get"]["rps"], 3)
                for i in rounds
            ],
            # Percentiles over every sample of a condition, all rounds pooled.
            "healthz_p99_ms": {
                f"{name} slow, {when}": round(
                    percentile([ms for p in group for ms in p["healthz_ms"][when]], 99), 1
                )
                for name, group in (("with", with_slow), ("without", without))
                for when in ("alone", "under_wrk")
            },
        }
        summary["with_over_without_median"] = statistics.median(
            summary["with_over_without_per_round"]
        )
        print(json.dumps(summary, indent=2))
        report = {
            "machine": machine(),
            "command": " ".join(sys.argv),
            "phases": phases,
            "summary": summary,
        }
        (WORK / "slow_bodies.json").write_text(json.dumps(report, indent=2))
    finally:
        for process in reversed(started):
            process.stop()


if __name__ == "__main__":
    main()
