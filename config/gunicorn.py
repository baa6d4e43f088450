"""gunicorn settings for this workload: ``gunicorn -c config/gunicorn.py config.wsgi``.

Requests mostly wait on Redis, the provider or an upstream, so threads (gthread) rather than
more processes: on 2 cores, 2 workers x 8 threads. Every value can be overridden from the
environment; see docs/deployment.md.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that stops reporting for this long is restarted; streamed proxy responses keep it
# reporting, so this is not a cap on request length.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Path only: query strings carry authorization codes (the callback) and ID tokens (logout).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
control_socket_disable = True


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    # With several workers, Prometheus metrics are written per process to
    # PROMETHEUS_MULTIPROC_DIR; a dead worker's live gauges must be dropped.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
