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
