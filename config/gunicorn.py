"""gunicorn settings for this site; ``gunicorn -c config/gunicorn.py`` alone starts it.

Each worker process is one event loop (uvicorn, ``config.workers.Worker``) serving the ASGI
application ``config.asgi:application``: the proxy natively (an open stream or WebSocket costs no
thread), pages in a pool of ``GUNICORN_THREADS`` threads. On 2 cores, 2 workers x 8 threads.
Every value can be overridden from the environment; see docs/deployment.md.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
wsgi_app = "config.asgi:application"
worker_class = "config.workers.Worker"
# Read by config/asgi.py (the page thread pool); set here too for anything that reads gunicorn's.
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
os.environ.setdefault("GUNICORN_THREADS", str(threads))
# A worker whose event loop stops reporting for this long is restarted; open streams do not
# stop it reporting, so this is not a cap on request length.
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
