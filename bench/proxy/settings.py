"""The site's production settings plus the benchmark's two extra targets (bench/proxy/urls.py):
a bare view that reads the Redis session, and django-revproxy doing the proxy's job."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "revproxy"]
ROOT_URLCONF = "bench.proxy.urls"
