"""Telling the provider a refresh token is no longer needed (RFC 7009).

Used when a session ends on purpose (logout, an admin's or the user's revocation). A failure is
logged and never blocks what the user asked for: the session ends here either way.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from accounts.conf import accounts_settings
from accounts.exceptions import ProviderUnavailable
from accounts.oidc.backend import client_credentials
from accounts.oidc.discovery import provider_metadata
from accounts.oidc.provider_http import provider_post_form

logger = logging.getLogger(__name__)


def revoke_refresh_token(refresh_token: str) -> bool:
    """True when the provider confirmed (RFC 7009: 200, also for a token it did not know)."""
    try:
        metadata = provider_metadata()
        endpoint = metadata.revocation_endpoint or _preset_revocation_endpoint(
            metadata.authorization_endpoint
        )
        if not endpoint:
            return False
        response = provider_post_form(
            endpoint,
            {"token": refresh_token, "token_type_hint": "refresh_token"},
            auth=client_credentials(),
        )
    except ProviderUnavailable:
        logger.warning("refresh token revocation failed: provider unavailable")
        return False
    if response.status_code != 200:
        # 503 means "try later" (RFC 7009 2.2.1); there is no later for an ended session.
        logger.warning("refresh token revocation answered %s", response.status_code)
        return False
    return True


def _preset_revocation_endpoint(authorization_endpoint: str) -> str | None:
    path = accounts_settings.PRESET.revocation_path
    if not path:
        return None
    parts = urlsplit(authorization_endpoint)
    return f"{parts.scheme}://{parts.netloc}{path}"
