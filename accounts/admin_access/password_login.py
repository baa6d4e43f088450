"""Username and password logins: the switch that turns them off, and the admin's login form.

People log in at the provider. Password logins exist for break-glass accounts made with
``createsuperuser``; ``ACCOUNTS_PASSWORD_LOGIN = False`` ends them, and while they exist axes
throttles them (``accounts.admin_access.lockout``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.module_loading import import_string
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.conf import accounts_settings


def is_password_attempt(credentials: dict[str, Any] | None) -> bool:
    """Whether ``authenticate()`` was given a password, as the admin's form and any
    ``ModelBackend`` login do. The OIDC callback passes a nonce and a PKCE verifier instead."""
    return credentials is not None and credentials.get("password") is not None


def is_password_backend(path: str) -> bool:
    """Whether the backend at this dotted path checks passwords: a ``ModelBackend`` that is not
    the OIDC backend (mozilla-django-oidc's is a ``ModelBackend`` too, for the permissions)."""
    try:
        backend = import_string(path)
    except ImportError:
        return False
    return (
        isinstance(backend, type)
        and issubclass(backend, ModelBackend)
        and not issubclass(backend, OIDCAuthenticationBackend)
    )


class PasswordBackend(ModelBackend):
    """``ModelBackend``, which authenticates nobody while ``ACCOUNTS_PASSWORD_LOGIN`` is off.

    It then also stops recognising the sessions it started, so switching password login off
    ends the password sessions still open rather than letting them run their course.
    Permissions are unaffected: they come from the groups and flags, whichever backend logged
    the user in.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not accounts_settings.PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username, password, **kwargs)

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not accounts_settings.PASSWORD_LOGIN:
            return None
        return await super().aauthenticate(request, username, password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        if not accounts_settings.PASSWORD_LOGIN:
            return None
        return super().get_user(user_id)

    async def aget_user(self, user_id: Any) -> Any:
        if not accounts_settings.PASSWORD_LOGIN:
            return None
        return await super().aget_user(user_id)


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login form (``accounts.admin`` installs it with its template).

    With password login off it refuses every submission before anything is authenticated, and
    its template shows only the link to the provider.
    """

    def clean(self) -> dict[str, Any]:
        if not accounts_settings.PASSWORD_LOGIN:
            raise ValidationError(
                "Password login is switched off on this site. Log in with %(name)s.",
                code="password_login_off",
                params={"name": self.provider_name},
            )
        cleaned: dict[str, Any] = super().clean()
        return cleaned

    @property
    def password_login(self) -> bool:
        return accounts_settings.PASSWORD_LOGIN

    @property
    def provider_name(self) -> str:
        return accounts_settings.OIDC_PROVIDER_DISPLAY_NAME
