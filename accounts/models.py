from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class OIDCIdentity(models.Model):
    """Links a Django user to one identity at one provider.

    Users are matched on (issuer, subject), the only pair OpenID Connect promises is stable and
    unique; an email address can change hands or be unverified.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "OIDC identity"
        verbose_name_plural = "OIDC identities"
        constraints = (
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_oidc_identity"),
        )

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"


# The longest and shortest each duration of the policy may be. Ten years is far beyond any
# sensible session, and leaves room for every date computed from it (a cookie's expiry, a
# session's deadline) to stay inside what Python's datetime and the database can hold: a policy of
# 3,000,000 days put the cookie's expiry past the year 9999 and every page answered 500. The
# activity interval and the refresh skew are precisions, not lifetimes: a day is plenty.
LIFETIME_LIMIT = timedelta(days=3650)
PRECISION_LIMIT = timedelta(days=1)
POLICY_LIMITS: dict[str, tuple[timedelta, timedelta]] = {
    "absolute_lifetime": (timedelta(seconds=1), LIFETIME_LIMIT),
    "inactivity_timeout": (timedelta(seconds=1), LIFETIME_LIMIT),
    "activity_interval": (timedelta(seconds=1), PRECISION_LIMIT),
    "refresh_skew": (timedelta(0), PRECISION_LIMIT),
    "refresh_token_lifetime": (timedelta(seconds=1), LIFETIME_LIMIT),
}


class SessionPolicy(models.Model):
    """How long sessions live. One row, edited in the admin; changes apply on the next request
    of every session, existing ones included (see accounts.sessions.lifetimes)."""

    absolute_lifetime = models.DurationField(
        default=timedelta(days=7),
        help_text="A session ends this long after login, however active. Set it to the refresh "
        "token's lifetime at the provider: a longer session outlives its refresh token.",
    )
    inactivity_timeout = models.DurationField(
        default=timedelta(days=1),
        help_text="A session ends after this long without a request.",
    )
    activity_interval = models.DurationField(
        default=timedelta(seconds=60),
        help_text="Last activity is recorded at most this often, so an idle session may end up "
        "to this much earlier than the inactivity timeout says. Shorter is more precise and "
        "costs one Redis write per session per interval.",
    )
    refresh_skew = models.DurationField(
        default=timedelta(seconds=60),
        help_text="Access tokens are renewed this long before they expire.",
    )
    refresh_token_lifetime = models.DurationField(
        null=True,
        blank=True,
        help_text="The refresh token's lifetime at the provider, if known (Auth0: 30 days by "
        "default). Used only to advise; the provider's refresh_expires_in wins when it sends "
        "one.",
    )

    class Meta:
        verbose_name = "session policy"
        verbose_name_plural = "session policy"

    def __str__(self) -> str:
        return "Session policy"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1  # the one row
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for name in ("absolute_lifetime", "inactivity_timeout", "activity_interval"):
            value = getattr(self, name)
            if value is not None and value <= timedelta(0):
                errors[name] = "Must be longer than zero."
        if self.refresh_skew is not None and self.refresh_skew < timedelta(0):
            errors["refresh_skew"] = "Must not be negative."
        if self.refresh_token_lifetime is not None and self.refresh_token_lifetime <= timedelta(0):
            errors["refresh_token_lifetime"] = "Must be longer than zero, or empty if unknown."  # noqa: S105
        for name, (_, longest) in POLICY_LIMITS.items():
            value = getattr(self, name)
            if name not in errors and value is not None and value > longest:
                errors[name] = f"Must be at most {_days(longest)}."
        if (
            "inactivity_timeout" not in errors
            and "absolute_lifetime" not in errors
            and self.inactivity_timeout > self.absolute_lifetime
        ):
            errors["inactivity_timeout"] = (
                "Cannot be longer than the absolute lifetime: the session would always end "
                "by the absolute lifetime first."
            )
        if (
            "activity_interval" not in errors
            and "inactivity_timeout" not in errors
            and self.activity_interval >= self.inactivity_timeout
        ):
            errors["activity_interval"] = (
                "Must be shorter than the inactivity timeout, or active users would be logged out."
            )
        if errors:
            raise ValidationError(errors)


def _days(length: timedelta) -> str:
    return f"{length.days} day{'s' if length.days != 1 else ''}"


class ActiveSession(models.Model):
    """No table: gives the live sessions (kept in Redis) a place and permissions in the admin."""

    class Meta:
        managed = False
        default_permissions = ("view", "delete")
        verbose_name = "active session"

    def __str__(self) -> str:
        return "Active session"
