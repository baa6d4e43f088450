"""Settings for the refresh benchmark: production settings, optionally without the middleware."""

import os

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE

if os.environ.get("BENCH_WITHOUT_REFRESH") == "1":
    MIDDLEWARE = [m for m in MIDDLEWARE if m != "accounts.middleware.TokenRefreshMiddleware"]
    SILENCED_SYSTEM_CHECKS = ["accounts.E013"]
