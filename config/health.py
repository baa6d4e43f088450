"""Operations endpoints: liveness, readiness, and Prometheus metrics.

``/healthz`` says the process answers; ``/readyz`` that its dependencies do (Redis, the database),
naming the one that does not; ``/metrics`` is for Prometheus and is not public: it answers 404
until ``METRICS_TOKEN`` is set, then only to ``Authorization: Bearer <METRICS_TOKEN>``.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    failing = {}
    try:
        caches[settings.SESSION_CACHE_ALIAS].get("readyz")  # a round trip to Redis
    except Exception as exc:  # any failure means not ready; say which part
        failing["redis"] = type(exc).__name__
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        failing["database"] = type(exc).__name__
    if failing:
        logger.warning("not ready: %s", ", ".join(sorted(failing)))
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return HttpResponse(status=404)
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not constant_time_compare(presented, token):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers: each writes its numbers to this directory; add them up.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
