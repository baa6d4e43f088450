"""This site's log filters. The one that keeps query strings (authorization codes) out of
request lines ships with the accounts app (``accounts.log_filters``)."""

from __future__ import annotations

import logging


class SuspiciousRequestsAsWarnings(logging.Filter):
    """Log a hostile request (Django's ``django.security.*`` loggers: a Host not in
    ALLOWED_HOSTS, a malformed session cookie, ...) as one WARNING line without a traceback.

    Django logs each at ERROR with the whole stack. Anyone on the internet can send them, so at
    that level they would bury real errors and fill the error log on demand; the line itself
    (which host, which path) is all that is worth keeping.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security.") and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True
