"""The site as one ASGI application: ``gunicorn -c config/gunicorn.py`` serves it.

``/api/proxy/`` (HTTP and WebSocket) is served natively by the proxy's async handler; every
other request goes to Django's WSGI handler in a thread pool of ``GUNICORN_THREADS`` threads per
worker process (docs/architecture.md says why this shape).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Sets Django up: the imports below load models.
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402

from config.edge_headers import site_headers  # noqa: E402
from config.pages import ThreadedPages  # noqa: E402
from config.startup import refuse_to_start_misconfigured  # noqa: E402
from proxy.asgi import ProxyEdge  # noqa: E402

refuse_to_start_misconfigured()
if settings.DEBUG:
    # What runserver does in development: the admin's and the pages' static files.
    django_application = StaticFilesHandler(django_application)

application = ProxyEdge(
    ThreadedPages(django_application, threads=int(os.environ.get("GUNICORN_THREADS", "8"))),
    site_headers=site_headers,
)
