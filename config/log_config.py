"""The site's logging: one console handler, plain or JSON lines, with the filters that keep
secrets and noise out of it (``accounts.log_filters``, ``config.log_filters``)."""

from __future__ import annotations

from typing import Any


def logging_config(*, level: str, json: bool) -> dict[str, Any]:
    """``LOGGING`` for this site: everything at ``level`` and above to the console."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "drop_query_strings": {"()": "accounts.log_filters.DropQueryStrings"},
            "suspicious_requests_as_warnings": {
                "()": "config.log_filters.SuspiciousRequestsAsWarnings"
            },
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "config.json_logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json else "plain",
                "filters": ["drop_query_strings", "suspicious_requests_as_warnings"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # runserver's own handler would print request lines, query strings and all.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # Django's default config gives "django" a console handler of its own (in DEBUG), and
            # its records then reach the root's as well: every line twice under ./dev/up.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
        },
    }
