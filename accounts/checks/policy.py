"""Advice on the session policy against what the provider issues (database checks, as the
admin shows it).

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.database)
def check_session_policy_advice(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The admin's advice, for ``manage.py check --database default`` and ``migrate``."""
    if not databases:
        return []
    from django.db import DatabaseError
    from redis.exceptions import RedisError

    from accounts.models import SessionPolicy
    from accounts.sessions.advice import lifetime_advice, skew_advice
    from accounts.sessions.lifetimes import Policy

    try:
        row = SessionPolicy.objects.filter(pk=1).first()
        policy = Policy.from_model(row) if row else None
        advice = [
            (text, check_id)
            for text, check_id in (
                (lifetime_advice(policy) if policy else None, "accounts.W003"),
                (skew_advice(policy) if policy else None, "accounts.W008"),
            )
            if text
        ]
    except (DatabaseError, RedisError):
        return []  # not migrated yet, or Redis not up: nothing to advise on
    return [
        Warning(text, hint="Change it in the admin: Accounts > Session policy.", id=check_id)
        for text, check_id in advice
    ]
