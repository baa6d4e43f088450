"""Prometheus metrics of the proxy: calls by upstream and status, and how long upstreams take.

Without prometheus-client installed nothing is counted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Uncounted:
    """Stands in for a metric when prometheus-client (the ``metrics`` extra) is not installed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def labels(self, *args: Any, **kwargs: Any) -> _Uncounted:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    @contextlib.contextmanager
    def time(self) -> Iterator[None]:
        yield


try:
    from prometheus_client import Counter, Histogram
except ImportError:
    Counter = Histogram = _Uncounted  # type: ignore[assignment,misc]

PROXIED = Counter(
    "bff_proxy_requests_total",
    "Calls through /api/proxy/, by upstream and the status the browser got.",
    ["upstream", "status"],
)
UPSTREAM_SECONDS = Histogram(
    "bff_proxy_upstream_seconds",
    "Time to the upstream's answer head (the body may stream on), by upstream.",
    ["upstream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def count_call(upstream: str, status: int) -> None:
    # Only names from the allow-list become labels: an unknown name in a URL must not create
    # a new time series per attempt.
    from proxy.upstreams import configured_upstreams

    known = upstream in configured_upstreams()
    PROXIED.labels(upstream=upstream if known else "(unknown)", status=str(status)).inc()
