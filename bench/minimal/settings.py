"""A minimal Django target: only SessionMiddleware, one view that reads the Redis session.

What any Django site pays to read a session from Redis, with none of this project's stack: the
baseline the proxy's small GET is compared with. Same Redis session engine and cache settings
as the site, so the session read is the same MGET.
"""

from config.settings import CACHES, REDIS_URL, SECRET_KEY  # noqa: F401

DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.sessions"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
ROOT_URLCONF = "bench.minimal.urls"
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_CACHE_ALIAS = "sessions"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
