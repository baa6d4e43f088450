"""Where to send the browser to log out at the provider, by preset (RP-initiated logout).

Called after the local session has ended; it only builds a URL. The return to ``SITE_URL/``
carries whatever ``state`` the provider echoes, and the home page ignores it: a logout return has
nothing to protect, and failing it would strand a user who did log out.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from accounts.conf import accounts_settings
from accounts.exceptions import ProviderUnavailable
from accounts.oidc.discovery import provider_metadata

logger = logging.getLogger(__name__)


class LoggedIn(Protocol):
    """What the logout URL needs of a login: its ID token (the hint) and claims."""

    @property
    def id_token(self) -> str: ...

    @property
    def claims(self) -> dict[str, Any]: ...


def provider_logout_url(record: LoggedIn | None) -> str | None:
    """The provider's logout URL for this preset, or None to stay on the site."""
    try:
        metadata = provider_metadata()
    except ProviderUnavailable:
        logger.warning("logout: provider unavailable, logged out locally only")
        return None
    preset = accounts_settings.PRESET
    client_id = accounts_settings.OIDC_CLIENT_ID
    return_to = accounts_settings.SITE_URL + "/"
    if preset.logout == "cognito":
        # Cognito's logout lives on the hosted UI domain, which is the authorization
        # endpoint's, not the issuer's; and it takes logout_uri, not post_logout_redirect_uri.
        parts = urlsplit(metadata.authorization_endpoint)
        query = urlencode({"client_id": client_id, "logout_uri": return_to})
        return f"{parts.scheme}://{parts.netloc}/logout?{query}"
    if metadata.end_session_endpoint:
        params = {
            "post_logout_redirect_uri": return_to,
            "client_id": client_id,
            "state": secrets.token_urlsafe(16),
        }
        if record is not None:
            params["id_token_hint"] = record.id_token
            hint = record.claims.get(preset.logout_hint_claim) if preset.logout_hint_claim else None
            if isinstance(hint, str) and hint:
                params["logout_hint"] = hint
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return f"{metadata.end_session_endpoint}{separator}{urlencode(params)}"
    if preset.logout == "auth0":
        # A tenant without RP-initiated logout enabled: Auth0's own endpoint. returnTo must be
        # in the application's Allowed Logout URLs.
        query = urlencode({"client_id": client_id, "returnTo": return_to})
        return f"{metadata.issuer.rstrip('/')}/v2/logout?{query}"
    return None
