"""Benchmark the proxy and the pages against what they replace and what bounds them, in one run.

    apt-get install -y nginx-light wrk; .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python -m bench.proxy.run --rounds 5 --duration 10 --connections 16

Targets; the site is served as shipped (`gunicorn -c config/gunicorn.py`: 2 workers, each one
event loop with 8 page threads):
  direct        nginx answering a small JSON itself (the upstream)
  nginx         nginx proxy_pass to that upstream (no token: the floor of any proxy)
  minimal       a minimal Django (only SessionMiddleware, a view reading the Redis session) under
                gunicorn gthread 2 x 8: what any Django site pays, without this project's stack
  bare          a page of the site that reads the Redis session (the whole middleware stack)
  ours          /api/proxy/bench/..., logged in: the ASGI edge, one MGET, the bearer, aiohttp
  revproxy      django-revproxy 0.13 ProxyView adding the session's bearer token (a site page)
  healthz-anon  /healthz without a cookie            } the cost of being logged in on a page
  healthz-in    /healthz with a logged-in cookie     }
  home, account          `/` and `/account/`, logged in, served as shipped       } pages before
  home-gt, account-gt    the same, `gunicorn config.wsgi -k gthread 2 x 8` (the   } and after the
                         entry before the async edge), same Redis, database      } async edge
The machine is shared and noisy, so the targets are alternated in rounds and each round's ratios
are kept; the report gives the median of those. Then 1 GiB is downloaded and uploaded through
the proxy and the workers' peak RSS is compared before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import requests

from tests.proxy.servers import SampleAPI, child_pids, rss_high_water_kib
from tests.stack import (
    ARTIFACTS,
    ROOT,
    TOKEN_KEY,
    Process,
    Provider,
    free_port,
    sign_in_at_provider,
    wait_until,
)

WORK = ARTIFACTS / "bench-proxy"
BODY = '{"id": 42, "name": "bench", "items": [1, 2, 3], "ok": true}'
MiB = 1024 * 1024

NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    keepalive_requests 100000;
    upstream origin {{ server 127.0.0.1:{upstream}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ default_type application/json; return 200 '{body}'; }}
    }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(upstream_port: int, proxy_port: int) -> Process:
    WORK.mkdir(parents=True, exist_ok=True)
    conf = WORK / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(work=WORK, upstream=upstream_port, proxy=proxy_port, body=BODY)
    )
    process = Process(
        "bench-nginx", ["nginx", "-c", str(conf), "-g", "daemon off;"], {**os.environ}
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{proxy_port}/"), 10, "nginx")
    return process


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def start_provider(site_url: str) -> Provider:
    """The local provider for a benchmark's site. Long-lived tokens: the benchmarks measure the
    steady state, not renewals."""
    return Provider(
        redirect_uris=[f"{site_url}/auth/callback/"],
        post_logout_uris=[f"{site_url}/"],
        ACCESS_TOKEN_TTL="3600",
        PROVIDER_LOG="0",
    ).start()


def start_redis(port: int) -> Process:
    """A Redis of the benchmark's own: no other test run can flush its sessions mid-round."""
    process = Process(
        "bench-redis",
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        {**os.environ},
    )
    wait_until(lambda: _redis_answers(port), 10, "redis-server")
    return process


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_site(
    port: int, provider: Provider, upstreams: dict, upstream_url: str, redis_url: str
) -> Process:
    env = site_env(port, provider, upstreams, upstream_url, redis_url)
    (WORK / "site.sqlite3").unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    process = Process(
        "bench-site",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "120",
            "--graceful-timeout",
            "2",
            "--access-logfile",
            "/dev/null",
        ],
        env,
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/auth/session/"), 30, "the site")
    return process


def site_env(port: int, provider: Provider, upstreams: dict, upstream_url: str, redis_url: str):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.proxy.settings",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DJANGO_DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{WORK / 'site.sqlite3'}",
        "REDIS_URL": redis_url,
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret,
        "TOKEN_ENCRYPTION_KEYS": TOKEN_KEY,
        "PROXY_UPSTREAMS": json.dumps(upstreams),
        "BENCH_UPSTREAM": upstream_url,
    }


def start_gthread_site(port: int, env: dict[str, str]) -> Process:
    """The site's entry before the async edge: the WSGI app under gthread, 2 workers x 8 threads.

    Same settings, database and Redis as the shipped site, so a session cookie is good on both.
    """
    process = Process(
        "bench-site-gthread",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-k",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "8",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "--no-control-socket",
        ],
        env,
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30, "the gthread site")
    return process


def start_minimal(port: int, redis_url: str) -> Process:
    """The minimal Django target (bench/minimal), as any Django site is served: gthread 2 x 8."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.minimal.settings",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": redis_url,
    }
    process = Process(
        "bench-minimal",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "django.core.wsgi:get_wsgi_application()",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "8",
            "--worker-class",
            "gthread",
            "--no-control-socket",
        ],
        env,
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/bench/minimal/"), 30, "minimal")
    return process


def log_in(site_url: str) -> requests.Session:
    http = requests.Session()
    start = http.get(site_url + "/auth/login/", allow_redirects=False, timeout=10)
    callback = sign_in_at_provider(
        http,
        urljoin(site_url, start.headers["Location"]),
        "bench",
        stop_at=site_url + "/auth/callback/",
    )
    assert http.get(callback, allow_redirects=False, timeout=10).status_code == 302
    return http


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    url: str, headers: dict[str, str], *, threads: int, connections: int, duration: int
) -> dict:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        result[f"p{pct}_ms"] = float(value) * _UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    # Refused, reset or timed-out connections: a round with any is not a fair measurement.
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    result["socket_errors"] = sum(int(n) for n in sockets.groups()) if sockets else 0
    return result


def run_rounds(targets: dict[str, str], login, *, rounds, threads, connections, duration):
    """Each target in turn, every round starting one target later; a fresh login for each run.

    A target whose name ends in ``-anon`` gets no cookie.
    """
    names = list(targets)
    results: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            # A fresh login for every measurement: no target inherits another's session state.
            headers = {} if name.endswith("-anon") else login()
            results[name].append(
                wrk(
                    targets[name],
                    headers,
                    threads=threads,
                    connections=connections,
                    duration=duration,
                )
            )
            print(f"  round {r + 1} {name:12} {results[name][-1]}", flush=True)
    return results


def transfer_gib(site_url: str, http: requests.Session, site_pid: int) -> dict:
    workers = child_pids(site_pid)
    url = site_url + "/api/proxy/api"
    headers = {"X-CSRF": "1"}
    size = 1024 * MiB
    # Warm each worker's code paths (several requests, so both workers see them).
    for _ in range(8):
        warm = http.get(url + "/big", params={"bytes": 8 * MiB}, headers=headers, timeout=60)
        assert len(warm.content) == 8 * MiB
        http.post(url + "/upload", data=iter([b"w" * MiB] * 8), headers=headers, timeout=60)
    before = {pid: rss_high_water_kib(pid) for pid in workers}
    out = {"rss_before_mib": {pid: round(kib / 1024, 1) for pid, kib in before.items()}}

    started = time.monotonic()
    received = 0
    with http.get(
        url + "/big", params={"bytes": size}, headers=headers, stream=True, timeout=120
    ) as r:
        r.raise_for_status()
        for chunk in r.iter_content(MiB):
            received += len(chunk)
    assert received == size, received
    out["download_s"] = round(time.monotonic() - started, 2)

    block = b"u" * MiB
    started = time.monotonic()
    answer = http.post(url + "/upload", data=iter([block] * 1024), headers=headers, timeout=300)
    answer.raise_for_status()
    expected = hashlib.sha256()
    for _ in range(1024):
        expected.update(block)
    assert answer.json() == {"bytes": size, "sha256": expected.hexdigest()}, answer.text
    out["upload_chunked_s"] = round(time.monotonic() - started, 2)

    growth = {pid: (rss_high_water_kib(pid) - before[pid]) / 1024 for pid in workers}
    out["peak_rss_growth_mib"] = {pid: round(g, 1) for pid, g in growth.items()}
    out["max_peak_rss_growth_mib"] = round(max(growth.values()), 1)
    return out


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
        platform.processor(),
    )
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1), "cpu": cpu}


def summarize(results: dict[str, list[dict]]) -> dict:
    summary = {}
    for name, runs in results.items():
        summary[name] = {
            "rps_median": round(statistics.median(r["rps"] for r in runs), 1),
            "p50_ms_median": round(statistics.median(r["p50_ms"] for r in runs), 3),
            "p99_ms_median": round(statistics.median(r["p99_ms"] for r in runs), 3),
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
        }
    rounds = range(len(next(iter(results.values()))))

    def ratio(a, b):
        return round(
            statistics.median(results[a][i]["rps"] / results[b][i]["rps"] for i in rounds), 3
        )

    pairs = {
        "ours_over_minimal": ("ours", "minimal"),
        "ours_over_revproxy": ("ours", "revproxy"),
        "ours_over_bare": ("ours", "bare"),
        "bare_over_minimal": ("bare", "minimal"),
        "revproxy_over_bare": ("revproxy", "bare"),
        "ours_over_direct": ("ours", "direct"),
        "nginx_over_direct": ("nginx", "direct"),
        "healthz_in_over_anon": ("healthz-in", "healthz-anon"),
        "home_asgi_over_gthread": ("home", "home-gt"),
        "account_asgi_over_gthread": ("account", "account-gt"),
    }
    summary["ratios"] = {
        label: ratio(a, b) for label, (a, b) in pairs.items() if a in results and b in results
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds per target per round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--latency-duration", type=int, default=5, help="seconds at concurrency 1")
    parser.add_argument("--skip-gib", action="store_true", help="skip the 1 GiB transfers")
    parser.add_argument(
        "--only", help="comma-separated targets to measure (default: all), e.g. minimal,ours"
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    upstream_port, nginx_port, site_port, redis_port, minimal_port, gthread_port = (
        free_port() for _ in range(6)
    )
    site_url = f"http://127.0.0.1:{site_port}"
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    started = []
    try:
        started.append(start_nginx(upstream_port, nginx_port))
        started.append(start_redis(redis_port))
        provider = start_provider(site_url)
        started.append(provider)
        api = SampleAPI(provider.issuer).start()
        started.append(api)
        upstreams = {
            "bench": {"url": upstream_url},
            "api": {"url": api.url, "max_body_bytes": 2048 * MiB, "read_timeout": 120},
        }
        site = start_site(
            site_port, provider, upstreams, upstream_url, f"redis://127.0.0.1:{redis_port}/0"
        )
        started.append(site)
        started.append(start_minimal(minimal_port, f"redis://127.0.0.1:{redis_port}/0"))
        started.append(
            start_gthread_site(
                gthread_port,
                site_env(
                    site_port,
                    provider,
                    upstreams,
                    upstream_url,
                    f"redis://127.0.0.1:{redis_port}/0",
                ),
            )
        )
        gthread_url = f"http://127.0.0.1:{gthread_port}"

        def login() -> dict[str, str]:
            http = log_in(site_url)
            return {"Cookie": f"sessionid={http.cookies['sessionid']}", "X-CSRF": "1"}

        headers = login()
        targets = {
            "direct": f"{upstream_url}/data.json",
            "nginx": f"http://127.0.0.1:{nginx_port}/data.json",
            "minimal": f"http://127.0.0.1:{minimal_port}/bench/minimal/",
            "bare": f"{site_url}/bench/bare/",
            "ours": f"{site_url}/api/proxy/bench/data.json",
            "revproxy": f"{site_url}/bench/revproxy/data.json",
            "healthz-anon": f"{site_url}/healthz",
            "healthz-in": f"{site_url}/healthz",
            "home": f"{site_url}/",
            "home-gt": f"{gthread_url}/",
            "account": f"{site_url}/account/",
            "account-gt": f"{gthread_url}/account/",
        }
        for name, url in targets.items():
            r = requests.get(url, headers=headers, timeout=10, allow_redirects=False)
            assert r.status_code == 200, (name, r.status_code, r.text[:300])
        if args.only:
            targets = {name: targets[name] for name in args.only.split(",")}
        # Concurrency 1 measures added latency: only the small GET's targets.
        latency_targets = {
            name: url
            for name, url in targets.items()
            if name in ("direct", "minimal", "bare", "ours", "revproxy")
        }
        print(f"machine: {machine()}", flush=True)
        print(
            f"throughput: wrk -t{args.threads} -c{args.connections} -d{args.duration}s", flush=True
        )
        load = run_rounds(
            targets,
            login,
            rounds=args.rounds,
            threads=args.threads,
            connections=args.connections,
            duration=args.duration,
        )
        print(f"latency: wrk -t1 -c1 -d{args.latency_duration}s", flush=True)
        single = (
            run_rounds(
                latency_targets,
                login,
                rounds=args.rounds,
                threads=1,
                connections=1,
                duration=args.latency_duration,
            )
            if latency_targets
            else {}
        )
        report = {
            "machine": machine(),
            "command": " ".join(sys.argv),
            "throughput": summarize(load),
            "concurrency_1": summarize(single) if latency_targets else {},
            "raw": {"throughput": load, "concurrency_1": single},
        }
        c1 = report["concurrency_1"]
        report["added_p50_ms_at_c1"] = {
            f"ours_minus_{other}": round(
                c1["ours"]["p50_ms_median"] - c1[other]["p50_ms_median"], 3
            )
            for other in ("direct", "bare", "minimal")
            if "ours" in c1 and other in c1
        }
        if not args.skip_gib:
            report["gib"] = transfer_gib(site_url, log_in(site_url), site.proc.pid)
        out = WORK / "results.json"
        out.write_text(json.dumps(report, indent=2))
        print(json.dumps({k: v for k, v in report.items() if k != "raw"}, indent=2))
        print(f"full results: {out}")
    finally:
        for process in reversed(started):
            process.stop()


if __name__ == "__main__":
    main()
