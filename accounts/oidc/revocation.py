"""Telling the provider a refresh token is no longer needed (RFC 7009).

Used when a session ends on purpose (logout, an admin's or the user's revocation). A failure is
logged and never blocks what the user asked for: the session ends here either way.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from accounts.conf import accounts_settings
from accounts.exceptions import ProviderUnavailable
from accounts.oidc.client_auth import post_as_client
from accounts.oidc.discovery import provider_metadata

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
        # No DPoP proof: revocation is client-authenticated, and RFC 9449 asks for none there.
        response = post_as_client(
            endpoint, {"token": refresh_token, "token_type_hint": "refresh_token"}
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
