"""N concurrent server-sent event streams through the proxy, while a page is timed.

    .venv/bin/python -m bench.streams.run --streams 200,1000,2000 --seconds 30 --ramp 0,5

The site is served as shipped (`gunicorn -c config/gunicorn.py`: 2 workers, each one event loop
with 8 page threads). For each N: N streams of one event a second for ``--seconds`` seconds
(bench/streams/upstream.py, aiohttp on 127.0.0.1) are opened, all at once or spread over
``--ramp`` seconds, through `/api/proxy/sse/events` by one aiohttp client in its own process
(bench/streams/client.py), shared among a few logged-in sessions; meanwhile the logged-in
home page `/` is fetched every 0.5 s and timed, and the site's total RSS (master and workers)
sampled every 0.5 s.

Targets: every stream completes; first event p99 <= 2 s; page p99 <= 250 ms; RSS <= 1 GiB.
Each process started here gets the open-files limit raised to the hard limit (a stream holds a
socket in the client, two in the site and one in the upstream).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.proxy.run import (
    WORK,
    log_in,
    machine,
    start_provider,
    start_redis,
    start_site,
)
from tests.proxy.servers import child_pids
from tests.stack import Process, free_port, wait_until


def raise_open_files_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Calls ``sample`` every ``interval`` seconds until stopped; keeps what it returns."""

    def __init__(self, sample, interval: float) -> None:
        super().__init__(daemon=True)
        self.sample = sample
        self.interval = interval
        self.values: list = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.values.append(self.sample())
            self.stopping.wait(self.interval)

    def stop(self) -> list:
        self.stopping.set()
        self.join()
        return self.values


def page_timer(url: str, cookie: str):
    http = requests.Session()

    def sample():
        started = time.monotonic()
        try:
            status = http.get(url, headers={"Cookie": cookie}, timeout=30).status_code
        except requests.RequestException as exc:
            status = repr(exc)[:80]
        return (time.monotonic() - started) * 1000, status

    return sample


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def one_level(
    site_url: str, site_pid: int, cookies: list[str], n: int, seconds: int, ramp: float
) -> dict:
    pids = [site_pid, *child_pids(site_pid)]
    rss = Sampler(lambda: sum(rss_kib(pid) for pid in pids) / 1024, 0.5)
    page = Sampler(page_timer(site_url + "/", cookies[0]), 0.5)
    idle_rss = sum(rss_kib(pid) for pid in pids) / 1024
    rss.start()
    page.start()
    url = f"{site_url}/api/proxy/sse/events?count={seconds}&interval=1"
    argv = [sys.executable, "-m", "bench.streams.client", url, ",".join(cookies), str(n)]
    out = subprocess.run(
        [*argv, str(seconds), str(ramp)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pages = page.stop()
    peak_rss = max(rss.stop())
    client = json.loads(out)
    streams = client["streams"]
    firsts = [s["first_s"] for s in streams if s.get("first_s") is not None]
    page_ms = [ms for ms, status in pages if status == 200]
    errors: dict[str, int] = {}
    for s in streams:
        if "error" in s:
            errors[s["error"]] = errors.get(s["error"], 0) + 1
    return {
        "streams": n,
        "ramp_s": ramp,
        "complete": sum(1 for s in streams if s.get("complete")),
        "errors": errors,
        "first_event_p50_s": round(statistics.median(firsts), 3) if firsts else None,
        "first_event_p99_s": round(percentile(firsts, 99), 3) if firsts else None,
        "first_event_max_s": round(max(firsts), 3) if firsts else None,
        "wall_s": round(client["wall_s"], 1),
        "client_worst_loop_lag_ms": round(client["client_worst_loop_lag_s"] * 1000, 1),
        "pages": len(pages),
        "pages_not_200": len(pages) - len(page_ms),
        "page_p50_ms": round(statistics.median(page_ms), 1) if page_ms else None,
        "page_p99_ms": round(percentile(page_ms, 99), 1) if page_ms else None,
        "page_max_ms": round(max(page_ms), 1) if page_ms else None,
        "site_rss_idle_mib": round(idle_rss, 1),
        "site_rss_peak_mib": round(peak_rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", default="200,1000,2000", help="comma-separated N")
    parser.add_argument("--seconds", type=int, default=30, help="events per stream, 1 a second")
    parser.add_argument("--sessions", type=int, default=8, help="logged-in sessions to share")
    parser.add_argument(
        "--ramp",
        default="0",
        help="comma-separated seconds over which the N streams start (0: all at once);"
        " each N is run once per value",
    )
    args = parser.parse_args()
    limit = raise_open_files_limit()
    WORK.mkdir(parents=True, exist_ok=True)
    site_port, redis_port, upstream_port = free_port(), free_port(), free_port()
    site_url = f"http://127.0.0.1:{site_port}"
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    started = []
    try:
        started.append(start_redis(redis_port))
        provider = start_provider(site_url)
        started.append(provider)
        upstream = Process(
            "bench-sse-upstream",
            [sys.executable, "-m", "bench.streams.upstream", str(upstream_port)],
            {**os.environ},
        )
        started.append(upstream)
        wait_until(lambda: _answers(upstream_url + "/health"), 20, "the event upstream")
        upstreams = {"sse": {"url": upstream_url, "read_timeout": 30}}
        site = start_site(
            site_port, provider, upstreams, upstream_url, f"redis://127.0.0.1:{redis_port}/0"
        )
        started.append(site)
        cookies = [
            f"sessionid={log_in(site_url).cookies['sessionid']}" for _ in range(args.sessions)
        ]
        print(f"machine: {machine()}; open-files limit {limit}", flush=True)
        levels = []
        for n in (int(x) for x in args.streams.split(",")):
            for ramp in (float(x) for x in args.ramp.split(",")):
                levels.append(one_level(site_url, site.proc.pid, cookies, n, args.seconds, ramp))
                print(json.dumps(levels[-1]), flush=True)
                time.sleep(3)  # let closed connections drain before the next level
        report = {"machine": machine(), "command": " ".join(sys.argv), "levels": levels}
        (WORK / "streams.json").write_text(json.dumps(report, indent=2))
    finally:
        for process in reversed(started):
            process.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
