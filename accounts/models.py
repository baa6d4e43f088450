from __future__ import annotations

from django.conf import settings
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
