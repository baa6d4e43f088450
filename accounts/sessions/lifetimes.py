"""The two clocks of a session, and the policy that sets them.

A session ends at ``min(created_at + absolute_lifetime, last_activity + inactivity_timeout)``,
computed on every request against the *current* policy: an admin who shortens a lifetime ends
existing sessions on their next request, not only new ones.

The policy lives in the database (``SessionPolicy``, edited in the admin) and is published to
Redis on every change; the session store fetches it in the same ``MGET`` as the session, so
reading it costs no extra round trip and every process sees a change at once. On a Redis Cluster
each process reads it at most once a second instead (``shared_copies``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, cast

from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.conf import accounts_settings
from accounts.models import LIFETIME_LIMIT, POLICY_LIMITS, SessionPolicy
from accounts.sessions import records, shared_copies
from accounts.signals import EndReason

POLICY_CACHE_KEY = "session-policy"


@dataclass(frozen=True)
class Policy:
    """The policy in seconds, as cached in Redis."""

    absolute_lifetime: float
    inactivity_timeout: float
    activity_interval: float
    refresh_skew: float
    refresh_token_lifetime: float | None

    @classmethod
    def from_model(cls, row: SessionPolicy) -> Policy:
        return cls(
            absolute_lifetime=row.absolute_lifetime.total_seconds(),
            inactivity_timeout=row.inactivity_timeout.total_seconds(),
            activity_interval=row.activity_interval.total_seconds(),
            refresh_skew=row.refresh_skew.total_seconds(),
            refresh_token_lifetime=(
                row.refresh_token_lifetime.total_seconds() if row.refresh_token_lifetime else None
            ),
        ).within_limits()

    def within_limits(self) -> Policy:
        """This policy with every duration brought inside ``POLICY_LIMITS``.

        ``SessionPolicy.clean()`` refuses values outside them, but a row saved before the limits
        existed, or written around the admin, must not put a deadline past what a date can hold:
        that answered every request with a 500.
        """
        values = self.to_json()
        for name, (shortest, longest) in POLICY_LIMITS.items():
            if values[name] is not None:
                low, high = shortest.total_seconds(), longest.total_seconds()
                values[name] = min(max(float(values[name]), low), high)
        return Policy(**values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Deadlines:
    absolute: float
    inactivity: float

    @property
    def expires_at(self) -> float:
        return min(self.absolute, self.inactivity)

    @property
    def reason(self) -> EndReason:
        """Which clock ends the session: the word ``session_ended`` carries."""
        return "absolute_lifetime" if self.absolute <= self.inactivity else "inactivity_timeout"


def deadlines(created_at: float, last_activity: float, policy: Policy) -> Deadlines:
    return Deadlines(
        absolute=created_at + policy.absolute_lifetime,
        inactivity=last_activity + policy.inactivity_timeout,
    )


def remaining_lifetime(created_at: float, last_activity: float, policy: Policy, now: float) -> int:
    """Whole seconds left, for the cookie's max-age and the Redis keys' TTL (never below 1, nor
    above the longest lifetime, so that the cookie's expiry date always exists)."""
    left = deadlines(created_at, last_activity, policy).expires_at - now
    return max(1, int(min(left, LIFETIME_LIMIT.total_seconds())))


def policy_from_cache_value(value: Any) -> Policy | None:
    if isinstance(value, dict):
        try:
            return Policy(**value).within_limits()
        except (TypeError, ValueError):
            return None
    return None


def load_policy() -> Policy:
    """The policy from the database, published to Redis for the session store to prefetch."""
    row, _ = SessionPolicy.objects.get_or_create(pk=1)
    policy = Policy.from_model(row)
    caches[accounts_settings.SESSION_CACHE_ALIAS].set(POLICY_CACHE_KEY, policy.to_json(), None)
    return policy


# Fetched in the same MGET as every session: store.prefetched("policy"), or store.policy().
records.register_prefetch(
    "policy", POLICY_CACHE_KEY, parse=policy_from_cache_value, load=load_policy
)


def session_policy(session: SessionBase) -> Policy:
    """The policy ``session`` is judged by: the copy fetched with it by the session store,
    else (another engine, or no request) the database's."""
    prefetched = getattr(session, "policy", None)
    if callable(prefetched):
        return cast(Policy, prefetched())
    return load_policy()


@receiver(post_save, sender=SessionPolicy)
def _publish_policy(sender: type[SessionPolicy], instance: SessionPolicy, **kwargs: Any) -> None:
    policy = Policy.from_model(instance)
    caches[accounts_settings.SESSION_CACHE_ALIAS].set(POLICY_CACHE_KEY, policy.to_json(), None)
    # This process sees its own change at once, on a cluster too.
    shared_copies.keep("policy", policy)


_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def human_duration(seconds: float, *, approximate: bool = False) -> str:
    """``seconds`` in words, for pages and messages.

    Exact by default, for a length someone set: the largest unit it is a whole number of, as it
    was entered ("90 minutes", "7 days"). ``approximate=True`` is for a time left or gone by: the
    two largest units, rounded down ("1 hour 30 minutes", "2 days 3 hours").
    """
    if approximate:
        parts = []
        for name, size in _UNITS:
            count = int(seconds // size)
            if count:
                parts.append(_count(count, name))
                seconds -= count * size
            if len(parts) == 2:
                break
        return " ".join(parts) or "0 seconds"
    for name, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return _count(int(seconds // size), name)
    return f"{seconds:g} seconds"


def _count(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


def now() -> float:
    """The clock the lifetime code reads; tests replace it."""
    return time.time()
