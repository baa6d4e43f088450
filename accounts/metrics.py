"""Prometheus metrics of the accounts app: logins, logouts by reason, refreshes, lock waits,
tokens a provider left unbound although DPoP asked it to bind them.

Counted from the app's own signals where there is one, so the counting stays out of the code
paths it counts. Exposed by ``config.health.metrics`` (not public by default); without
prometheus-client installed nothing is counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.signals import session_ended, tokens_refreshed


class _Uncounted:
    """Stands in for a Prometheus metric when prometheus-client is not installed (it comes with
    the ``metrics`` and ``server`` extras): a project that scrapes nothing needs no dependency
    for it, and the code that counts stays the same."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def labels(self, *args: Any, **kwargs: Any) -> _Uncounted:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass

    @contextlib.contextmanager
    def time(self) -> Iterator[None]:
        yield


try:
    from prometheus_client import Counter, Histogram
except ImportError:
    Counter = Histogram = _Uncounted  # type: ignore[assignment,misc]

LOGINS = Counter("bff_logins_total", "Completed logins.")
LOGIN_FAILURES = Counter(
    "bff_login_failures_total", "Logins that ended on an error page.", ["code"]
)
LOGOUTS = Counter(
    "bff_logouts_total",
    "Sessions ended, by reason (accounts.signals.SESSION_END_REASONS: logged_out, ...).",
    ["reason"],
)
REFRESHES = Counter(
    "bff_token_refreshes_total",
    "Refresh grants sent to the provider, by outcome (ok, rejected, unavailable).",
    ["outcome"],
)
REFRESH_SECONDS = Histogram(
    "bff_token_refresh_seconds",
    "Time the provider took to answer a refresh grant.",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOCK_WAITS = Counter(
    "bff_refresh_lock_waits_total",
    "Requests that found the refresh lock held by another request of the session and waited.",
)
LOCK_TIMEOUTS = Counter(
    "bff_refresh_lock_timeouts_total", "Waits for the refresh lock that ran out of time."
)
UNBOUND_TOKENS = Counter(
    "bff_dpop_unbound_tokens_total",
    "Token answers (logins and refreshes) that brought Bearer tokens although their request "
    "carried a DPoP proof (OIDC_USE_DPOP): tokens bound to no key.",
)


@receiver(user_logged_in)
def _count_login(sender: Any, **kwargs: Any) -> None:
    LOGINS.inc()


# Every end of a session, the user's own logout included, sends session_ended once: counting
# there (and not also on Django's user_logged_out) counts each end once.
@receiver(session_ended)
def _count_session_end(sender: Any, reason: str, **kwargs: Any) -> None:
    LOGOUTS.labels(reason=reason).inc()


@receiver(tokens_refreshed)
def _count_refresh(sender: Any, **kwargs: Any) -> None:
    REFRESHES.labels(outcome="ok").inc()
