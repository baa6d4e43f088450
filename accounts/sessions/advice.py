"""Advice on the session policy, from what the provider issues: shown in the admin and by the
database system checks (``accounts.W003``, ``accounts.W008``).

The provider's token lifetimes are noted at login, written to Redis only when they change, so
the advice speaks of what the provider really does rather than of what someone typed.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches

from accounts.conf import accounts_settings
from accounts.sessions.lifetimes import Policy, human_duration

OBSERVED_REFRESH_LIFETIME_KEY = "observed-refresh-token-lifetime"
OBSERVED_ACCESS_LIFETIME_KEY = "observed-access-token-lifetime"


def note_token_lifetimes(record: Any) -> None:
    """Remember the lifetimes a login's tokens came with, for the advice below."""
    _note_refresh_token_lifetime(record)
    if record.access_token_expires_at is not None and record.obtained_at:
        _remember(
            OBSERVED_ACCESS_LIFETIME_KEY, round(record.access_token_expires_at - record.obtained_at)
        )


def _note_refresh_token_lifetime(record: Any) -> None:
    # Only where the preset says refresh_expires_in is the refresh token's lifetime (Keycloak's
    # is the SSO session's idle time, say).
    if record.refresh_token_expires_at is None:
        return
    if not accounts_settings.PRESET.refresh_expires_in_is_lifetime:
        return
    _remember(
        OBSERVED_REFRESH_LIFETIME_KEY, round(record.refresh_token_expires_at - record.obtained_at)
    )


def _remember(key: str, seconds: int) -> None:
    cache = caches[accounts_settings.SESSION_CACHE_ALIAS]
    if cache.get(key) != seconds:
        cache.set(key, seconds, None)


def lifetime_advice(policy: Policy) -> str | None:
    """The seed's rule: the session must not outlive its refresh token. None when it does not."""
    observed = caches[accounts_settings.SESSION_CACHE_ALIAS].get(OBSERVED_REFRESH_LIFETIME_KEY)
    refresh_lifetime, source = (
        (float(observed), "the provider's refresh_expires_in")
        if observed
        else (policy.refresh_token_lifetime, "the refresh token lifetime entered here")
    )
    if refresh_lifetime is None or policy.absolute_lifetime <= refresh_lifetime:
        return None
    session, refresh = human_duration(policy.absolute_lifetime), human_duration(refresh_lifetime)
    return (
        f"The absolute session lifetime ({session}) is longer than the refresh token's lifetime "
        f"({refresh}, from {source}). Sessions will outlive their refresh token: once it expires "
        "the access token cannot be renewed, and users are sent to log in again in the middle of "
        f"a session. Set the absolute lifetime to {refresh} or less, or lengthen the refresh "
        "token's lifetime at the provider."
    )


def skew_advice(policy: Policy) -> str | None:
    """The refresh skew must be shorter than the access tokens live. None when it is."""
    observed = caches[accounts_settings.SESSION_CACHE_ALIAS].get(OBSERVED_ACCESS_LIFETIME_KEY)
    if not observed or policy.refresh_skew < float(observed):
        return None
    skew, lifetime = human_duration(policy.refresh_skew), human_duration(float(observed))
    return (
        f"The refresh skew ({skew}) is not shorter than the access tokens' lifetime ({lifetime}, "
        "seen at the last login). Tokens are then renewed half-way through their life instead of "
        f"{skew} before they expire. Set the refresh skew well below {lifetime}, e.g. "
        f"{human_duration(max(1, float(observed) // 4))}."
    )
