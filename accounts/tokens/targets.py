"""Which other API a token is for: an audience, and the scope asked of it.

The refresh grant can ask for an access token meant for another API than the login's: RFC 8707
``resource``, Auth0's ``audience`` (multi-resource refresh tokens), or a scope at Keycloak and
Entra. The provider's preset says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.conf import accounts_settings


@dataclass(frozen=True)
class ApiTarget:
    audience: str
    scope: str | None

    @property
    def key(self) -> str:
        """Where the token record keeps this API's token."""
        return f"{self.audience} {self.scope}" if self.scope else self.audience

    def parameters(self) -> dict[str, str]:
        """What the refresh grant adds to its form to ask for this API's token."""
        how = accounts_settings.PRESET.audience_parameter
        params = {"scope": self.scope} if self.scope else {}
        if how == "scope":
            params["scope"] = self.scope or self.audience
        else:
            params[how] = self.audience
        return params
