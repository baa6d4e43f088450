"""The streams benchmark's load generator: N event streams at once from one aiohttp client on
uvloop, in a process of its own so that it does not share an interpreter with the page timer.

    python -m bench.streams.client URL COOKIE[,COOKIE...] N EVENTS [RAMP_SECONDS]

Prints one JSON object: per stream the seconds to the first event, the events received and
whether the stream ended cleanly; and the client's own worst event-loop lag, to show it was not
the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
import uvloop


async def one_stream(
    http: aiohttp.ClientSession, url: str, cookie: str, events: int, delay: float
) -> dict:
    await asyncio.sleep(delay)
    started = time.monotonic()
    first = None
    received = 0
    try:
        async with http.get(url, headers={"Cookie": cookie, "X-CSRF": "1"}) as response:
            if response.status != 200:
                return {"error": f"status {response.status}", "events": 0}
            async for line in response.content:
                if line.startswith(b"data:"):
                    received += 1
                    if first is None:
                        first = time.monotonic() - started
        return {"first_s": first, "events": received, "complete": received == events}
    except Exception as exc:  # any failure is a stream that did not complete
        return {"error": repr(exc)[:200], "first_s": first, "events": received}


async def lag_probe(stop: asyncio.Event, worst: list[float]) -> None:
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.1)
        worst[0] = max(worst[0], time.monotonic() - before - 0.1)


async def run(url: str, cookies: list[str], n: int, events: int, ramp: float) -> dict:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=events * 3 + 60, sock_read=30)
    stop = asyncio.Event()
    worst = [0.0]
    probe = asyncio.create_task(lag_probe(stop, worst))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.monotonic()
        results = await asyncio.gather(
            *(
                one_stream(http, url, cookies[i % len(cookies)], events, ramp * i / n)
                for i in range(n)
            )
        )
        wall = time.monotonic() - started
    stop.set()
    await probe
    return {"streams": results, "wall_s": wall, "client_worst_loop_lag_s": worst[0]}


def main() -> None:
    url, cookies = sys.argv[1], sys.argv[2].split(",")
    n, events = int(sys.argv[3]), int(sys.argv[4])
    ramp = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    uvloop.install()
    print(json.dumps(asyncio.run(run(url, cookies, n, events, ramp))))


if __name__ == "__main__":
    main()
