"""Moved to ``accounts.resource_server.drf``; kept so ``REST_FRAMEWORK`` settings that name
``accounts.drf.AccessTokenAuthentication`` go on working until 1.0 (see CHANGELOG.md)."""

from accounts.resource_server.drf import AccessTokenAuthentication, TokenUser

__all__ = ["AccessTokenAuthentication", "TokenUser"]
