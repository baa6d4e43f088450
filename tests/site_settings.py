"""Settings for a gunicorn site under test: production settings plus test-only switches.

One test turns the refresh lock off to show the race it prevents; the step-up browser test adds
the example app's pages.
"""

import os

from config.settings import *  # noqa: F403

OIDC_REFRESH_LOCK = os.environ.get("TEST_REFRESH_LOCK", "1") == "1"

if "TEST_OIDC_TIMEOUT" in os.environ:
    OIDC_HTTP_TIMEOUT = (float(os.environ["TEST_OIDC_TIMEOUT"]),) * 2
    OIDC_REFRESH_TIMEOUT = OIDC_HTTP_TIMEOUT

# The example app's pages (tests/extending/example_app.py) beside the site's own.
if "TEST_ROOT_URLCONF" in os.environ:
    ROOT_URLCONF = os.environ["TEST_ROOT_URLCONF"]
