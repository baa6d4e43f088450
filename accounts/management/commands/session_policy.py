"""``manage.py session_policy``: show or set the session policy from the command line.

The admin is the usual place; this is for deployment scripts and tests. Durations are written as
in the admin (``accounts.sessions.durations``): ``90s``, ``15m``, ``12h``, ``30d``, ``1d12h``, or
``[DD] [HH:[MM:]]ss``; plain numbers are seconds.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import SessionPolicy
from accounts.sessions.durations import format_duration, parse_duration

_FIELDS = (
    "absolute_lifetime",
    "inactivity_timeout",
    "activity_interval",
    "refresh_skew",
    "refresh_token_lifetime",
)


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
                try:
                    setattr(policy, field, parse_duration(options[field]))
                except ValueError as exc:
                    raise CommandError(f"{field}: {exc}") from exc
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
            value = getattr(policy, field)
            self.stdout.write(f"{field}: {format_duration(value) if value is not None else '-'}")
