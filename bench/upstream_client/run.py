"""aiohttp or httpx as the proxy's async upstream client: the same small GET, side by side.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python -m bench.upstream_client.run --requests 5000 --concurrency 16 --rounds 5

The upstream is uvicorn answering a 59-byte JSON; each client keeps its connections alive and
sends the request the proxy sends (raw target, a bearer header). Rounds alternate the clients;
the report gives requests per second per round and the median ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import aiohttp
import httpx
from yarl import URL

from tests.stack import Process, free_port, wait_until

APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body",
                "body": b'{"id": 42, "name": "bench", "items": [1, 2, 3], "ok": true}'})
"""


async def _run(client: str, url: str, requests: int, concurrency: int) -> float:
    headers = {"Authorization": "Bearer x" * 40, "X-Forwarded-For": "127.0.0.1"}
    queue = iter(range(requests))
    if client == "aiohttp":
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
        )

        async def one() -> None:
            async with session.get(URL(url, encoded=True), headers=headers) as r:
                await r.read()
    else:
        session = httpx.AsyncClient(limits=httpx.Limits(max_connections=None))

        async def one() -> None:
            r = await session.get(url, headers=headers)
            await r.aread()

    async def worker() -> None:
        for _ in queue:
            await one()

    await one()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await (session.close() if client == "aiohttp" else session.aclose())
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    upstream = Process(
        "bench-upstream-client",
        [
            sys.executable,
            "-c",
            APP + f"\nimport uvicorn; uvicorn.run(app, port={port}, "
            "log_level='warning', loop='uvloop', http='httptools')",
        ],
        {},
    )
    url = f"http://127.0.0.1:{port}/data.json"
    try:
        import requests

        wait_until(lambda: _ok(requests, url), 10, "the upstream")
        import uvloop

        results: dict[str, list[float]] = {"aiohttp": [], "httpx": []}
        for r in range(args.rounds):
            order = ["aiohttp", "httpx"] if r % 2 == 0 else ["httpx", "aiohttp"]
            for client in order:
                rps = uvloop.run(_run(client, url, args.requests, args.concurrency))
                results[client].append(rps)
                print(f"round {r + 1} {client:8} {rps:8.0f} req/s", flush=True)
        ratios = [a / h for a, h in zip(results["aiohttp"], results["httpx"], strict=True)]
        for client, runs in results.items():
            print(f"{client:8} median {statistics.median(runs):.0f} req/s")
        print(f"aiohttp / httpx median ratio {statistics.median(ratios):.2f}")
    finally:
        upstream.stop()


def _ok(requests, url: str) -> bool:
    try:
        return bool(requests.get(url, timeout=1).ok)
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
