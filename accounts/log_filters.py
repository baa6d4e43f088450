"""Keep secrets out of request log lines.

The development server logs every request line, query string included, and the callback's
query string holds the authorization code (a redirect to the provider's logout holds the ID
token). The path is enough to read the log.

The accounts app puts ``DropQueryStrings`` on the ``django.server`` logger when it starts, so a
project that uses the apps needs no logging configuration for it; a project may also put it on
its own handlers (``"()": "accounts.log_filters.DropQueryStrings"``) for other loggers' lines.
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


def drop_query_strings_from_request_lines() -> None:
    """Filter runserver's request lines, whatever ``LOGGING`` says: it logs them to
    ``django.server`` itself, so a filter on that logger sees every one before any handler."""
    server = logging.getLogger("django.server")
    if not any(isinstance(f, DropQueryStrings) for f in server.filters):
        server.addFilter(DropQueryStrings())
