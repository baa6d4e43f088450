"""The authentication backend: code exchange, ID token validation, user mapping.

Subclasses mozilla-django-oidc's backend and keeps its user hooks (``get_or_create_user``,
``create_user``, ``update_user``, ``verify_claims``), but replaces what it lacks or gets wrong:
endpoints come from discovery, the ID token is validated strictly (``accounts.oidc.id_token``),
users match on (issuer, sub) instead of email, the whole token response is kept (mozilla discards
the refresh token and expiry), and nothing is written into the session before ``auth.login()``: the
callback view stores the token record after login, from ``request.oidc_token_response``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.conf import accounts_settings, mozilla_oidc_setting
from accounts.exceptions import LoginFailed
from accounts.models import OIDCIdentity
from accounts.oidc.discovery import provider_metadata
from accounts.oidc.id_token import validate_id_token
from accounts.oidc.staff import claimed_groups, staff_flags
from accounts.oidc.token_endpoint import (
    MalformedTokenAnswer,
    TokenEndpointRefused,
    checked_token_answer,
)
from accounts.oidc.token_requests import post_to_token_endpoint

logger = logging.getLogger(__name__)


def callback_url() -> str:
    """The redirect URI registered at the provider, derived from SITE_URL (never from Host)."""
    return accounts_settings.SITE_URL + reverse("accounts:callback")


class OIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    get_settings = staticmethod(mozilla_oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # mozilla's __init__ insists on hand-configured endpoints; ours come from discovery.
        ModelBackend.__init__(self, *args, **kwargs)
        self.UserModel = get_user_model()

    def authenticate(
        self,
        request: HttpRequest | None,
        nonce: str | None = None,
        code_verifier: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if request is None or code_verifier is None:
            return None  # not an OIDC callback: let the next backend try
        code = request.GET.get("code")
        if not code:
            return None
        self.request = request
        metadata = provider_metadata()
        token_response = self.exchange_code(metadata.token_endpoint, code, code_verifier)
        claims = validate_id_token(
            token_response["id_token"],
            issuer=metadata.issuer,
            jwks_uri=metadata.jwks_uri,
            nonce=nonce,
        )
        user = self.get_or_create_user(
            token_response["access_token"], token_response["id_token"], claims
        )
        # Handed to the callback view, which stores it after auth.login() has cycled the session.
        request.oidc_token_response = token_response  # type: ignore[attr-defined]
        request.oidc_claims = claims  # type: ignore[attr-defined]
        return user  # type: ignore[no-any-return]

    def exchange_code(self, token_endpoint: str, code: str, code_verifier: str) -> dict[str, Any]:
        sent = post_to_token_endpoint(
            token_endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback_url(),
                "code_verifier": code_verifier,
            },
        )
        try:
            return checked_token_answer(
                sent.response,
                token_endpoint,
                id_token_required=True,
                token_type_required=True,
                proof_sent=sent.proof_sent,
            )
        except TokenEndpointRefused as exc:
            # The error code is a protocol word (invalid_grant, invalid_client), safe to log.
            logger.warning("code exchange refused by the provider: %s", exc.error)
            raise LoginFailed(f"The identity provider refused the login ({exc.error}).") from exc
        except MalformedTokenAnswer as exc:
            raise LoginFailed(exc.message) from exc

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        # The verified ID token is the user info: no extra round trip at login, and no userinfo
        # response whose sub could differ from the token's.
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(
            oidc_identities__issuer=claims["iss"], oidc_identities__subject=claims["sub"]
        )

    def create_user(self, claims: dict[str, Any]) -> Any:
        with transaction.atomic():
            user = self.UserModel.objects.create_user(
                username=username_for(claims), email=claims.get("email") or ""
            )
            OIDCIdentity.objects.create(user=user, issuer=claims["iss"], subject=claims["sub"])
            return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        self.update_groups(user, claims)
        changed = {
            "email": claims.get("email") or user.email,
            "first_name": (claims.get("given_name") or user.first_name)[:150],
            "last_name": (claims.get("family_name") or user.last_name)[:150],
        }
        flags = staff_flags(claims)
        for name, value in flags.items():
            if getattr(user, name) != value:
                logger.info("user %s: %s %s by the groups claim", user.pk, name, value)
        changed |= flags
        if any(getattr(user, k) != v for k, v in changed.items()):
            for k, v in changed.items():
                setattr(user, k, v)
            user.save(update_fields=list(changed))
        return user

    def update_groups(self, user: Any, claims: dict[str, Any]) -> None:
        """With ``OIDC_GROUPS_CLAIM`` set, the user's groups follow that claim at every login.

        Only groups that already exist are joined: a claim must not be able to create a group
        (and whatever permissions someone later gives it) by naming it.
        """
        names = claimed_groups(claims)
        if names is None:
            return
        user.groups.set(Group.objects.filter(name__in=names))


def username_for(claims: dict[str, Any]) -> str:
    """A readable, collision-free username: a human part plus a hash of (issuer, sub).

    The hash keeps two identities from colliding even when they share a display name or email;
    the identity link, not the username, is what logs a user in.
    """
    human = str(claims.get("preferred_username") or claims.get("email") or "user")
    digest = hashlib.sha256(f"{claims['iss']}\x00{claims['sub']}".encode()).hexdigest()[:10]
    return f"{human[:130]}-{digest}"
