"""``manage.py session_policy``: show or set the session policy from the command line.

The admin is the usual place; this is for deployment scripts and tests. Durations take a unit:
``90s``, ``15m``, ``12h``, ``30d`` (plain numbers are seconds).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import SessionPolicy

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_FIELDS = (
    "absolute_lifetime",
    "inactivity_timeout",
    "activity_interval",
    "refresh_skew",
    "refresh_token_lifetime",
)


def duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not match:
        raise CommandError(f"{text!r} is not a duration such as 90s, 15m, 12h or 30d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])


class Command(BaseCommand):
    help = "Show the session policy, or change the values given."

    def add_arguments(self, parser: CommandParser) -> None:
        for field in _FIELDS:
            parser.add_argument(f"--{field.replace('_', '-')}", dest=field, metavar="DURATION")

    def handle(self, *args: Any, **options: Any) -> None:
        policy, _ = SessionPolicy.objects.get_or_create(pk=1)
        changed = False
        for field in _FIELDS:
            if options[field] is not None:
                setattr(policy, field, duration(options[field]))
                changed = True
        if changed:
            try:
                policy.full_clean()
            except ValidationError as exc:
                raise CommandError(
                    "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                ) from exc
            policy.save()
        for field in _FIELDS:
            self.stdout.write(f"{field}: {getattr(policy, field)}")
