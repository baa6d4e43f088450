"""System checks for the project's own settings. IDs are listed in docs/configuration.md; never
reuse one."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from config.csp import directives

# A directive name, and a source with nothing in it that would end the directive (";"), start
# another policy (",") or split into two sources (whitespace).
_DIRECTIVE = re.compile(r"[a-z][a-z0-9-]*\Z")
_SOURCE = re.compile(r"[^\s;,]+\Z")

# Keywords that let injected markup run (or build) script or style: the policy exists to refuse
# exactly that. CSP keywords are case-insensitive.
_UNSAFE = (
    ("'unsafe-inline'", "config.E001", "runs every inline script and style, injected ones too"),
    ("'unsafe-eval'", "config.E002", "lets script turn text into code (eval, new Function)"),
)


@register(Tags.security)
def check_csp_extra_sources(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    extra = getattr(settings, "CSP_EXTRA_SOURCES", None)
    if extra is None:
        return []
    malformed = malformed_entries(extra)
    if malformed:
        return [
            Error(
                f"CSP_EXTRA_SOURCES is not a mapping of directive names to lists of sources: "
                f"{', '.join(malformed)}.",
                hint='Write it as JSON such as {"connect-src": ["https://api.example.com"]}: '
                "lowercase directive names, each source a separate string without spaces, "
                "';' or ','.",
                id="config.E003",
            )
        ]
    messages: list[CheckMessage] = []
    for keyword, check_id, harm in _UNSAFE:
        named_in = [
            name
            for name, sources in directives(extra).items()
            if keyword in (source.lower() for source in sources)
        ]
        if named_in:
            messages.append(
                Error(
                    f"CSP_EXTRA_SOURCES adds {keyword} to {', '.join(named_in)}.",
                    hint=f"{keyword} {harm}, which the policy is there to refuse. Give an inline "
                    'script or style nonce="{{ csp_nonce }}", or move it to a static file.',
                    id=check_id,
                )
            )
    return messages


def malformed_entries(extra: object) -> list[str]:
    if not isinstance(extra, Mapping):
        return [f"a {type(extra).__name__}"]
    problems = []
    for name, sources in extra.items():
        if not isinstance(name, str) or not _DIRECTIVE.match(name):
            problems.append(f"directive {name!r}")
        elif isinstance(sources, str) or not isinstance(sources, Sequence):
            problems.append(f"{name}: {sources!r} is not a list")
        else:
            problems.extend(
                f"{name}: source {source!r}"
                for source in sources
                if not isinstance(source, str) or not _SOURCE.match(source)
            )
    return problems
