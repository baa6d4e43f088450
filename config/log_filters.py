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
