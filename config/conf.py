"""The project's own settings, read on every access so ``override_settings`` works in tests.

Every default is written here once. Code never writes to ``django.conf.settings``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.conf import settings


class SiteSettings:
    @property
    def CSP_EXTRA_SOURCES(self) -> Mapping[str, Sequence[str]]:
        """Sources added to the Content-Security-Policy, by directive (config.csp); the
        checks (config.E001-E003) vouch for its shape."""
        value = getattr(settings, "CSP_EXTRA_SOURCES", None)
        return value if isinstance(value, Mapping) else {}


site_settings = SiteSettings()
