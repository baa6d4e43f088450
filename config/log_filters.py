"""Keep secrets out of request log lines.

The development server logs every request line, query string included, and the callback's
query string holds the authorization code (a redirect to the provider's logout holds the ID
token). The path is enough to read the log.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"(\"[A-Z]+ [^\s?\"]*)\?[^\s\"]*")


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _QUERY.sub(r"\1?…", message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


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
