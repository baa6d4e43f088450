"""An event-stream upstream on 127.0.0.1 for the streams benchmark: aiohttp on uvloop, so one
process holds thousands of streams without a thread each.

    python -m bench.streams.upstream PORT

``GET /events?count=30&interval=1`` sends ``count`` events, one every ``interval`` seconds, each
stamped with the upstream's wall-clock time so the client can see how late it arrives.
"""

from __future__ import annotations

import asyncio
import sys
import time

import uvloop
from aiohttp import web


async def events(request: web.Request) -> web.StreamResponse:
    count = int(request.query.get("count", "30"))
    interval = float(request.query.get("interval", "1"))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    for number in range(1, count + 1):
        await response.write(b"id: %d\ndata: %.6f\n\n" % (number, time.time()))
        if number < count:
            await asyncio.sleep(interval)
    await response.write_eof()
    return response


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    app = web.Application()
    app.add_routes([web.get("/events", events), web.get("/health", health)])
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), backlog=4096, print=None)


if __name__ == "__main__":
    main()
