"""Prometheus metrics of the proxy: calls by upstream and status, and how long upstreams take."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
