"""Settings for the test run: the production settings, fed a test environment.

Tests use Redis database 15 (or TEST_REDIS_URL) and flush it between tests, so they never touch
the data of a development stack on the same server.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("OIDC_ISSUER", "http://127.0.0.1:9/not-started")
os.environ.setdefault("OIDC_CLIENT_ID", "bff-test")
os.environ.setdefault("OIDC_CLIENT_SECRET", "bff-test-secret-0123456789abcdefghijkl")
os.environ["DATABASE_URL"] = "sqlite:///:memory:"
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"

from config.settings import *  # noqa: F403

# No waiting in tests for a refetch of the provider's keys.
OIDC_JWKS_MIN_REFETCH_INTERVAL = 0

# A fixed key, so the tests can decrypt what the site stored and check it.
TOKEN_ENCRYPTION_KEYS = ["n2s3pKxS9QwFBoQ3rR5Hc1k0H0rHkGkUqM3Gk7Vh4dA="]
