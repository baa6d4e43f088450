"""Moved to ``accounts.oidc.backend``; kept so ``AUTHENTICATION_BACKENDS`` and subclasses that
name ``accounts.backends.OIDCBackend`` go on working until 1.0 (see CHANGELOG.md)."""

from accounts.oidc.backend import OIDCBackend

__all__ = ["OIDCBackend"]
