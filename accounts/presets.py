"""Provider presets (``OIDC_PROVIDER``): each provider's quirks, so an integrator picks a name
instead of reading three sets of docs. docs/providers/<name>.md says what to click and set.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    # How the browser is sent to log out at the provider after the local session ends:
    # "oidc" - RP-Initiated Logout 1.0 at the discovered end_session_endpoint;
    # "auth0" - end_session_endpoint when the tenant advertises it, else GET /v2/logout;
    # "cognito" - GET <hosted UI domain>/logout?client_id=&logout_uri= (not RP-initiated logout).
    logout: str
    # The parameter that asks for an access token for a given API at the token endpoint:
    # "resource" (RFC 8707) or "audience" (Auth0).
    audience_parameter: str
    # OIDC Core 11: offline access needs prompt=consent, unless the provider grants refresh
    # tokens on its own terms (Auth0: "Allow Offline Access"; Cognito: always; Okta and Entra:
    # the offline_access scope alone).
    prompt_consent_for_offline_access: bool
    default_scopes: str
    # What OIDC_ISSUER looks like, for the check's message and the docs.
    issuer_example: str


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "generic",
            "oidc",
            "resource",
            True,
            "openid profile email offline_access",
            "https://login.example.com",
        ),
        Preset(
            "auth0",
            "auth0",
            "audience",
            False,
            "openid profile email offline_access",
            "https://YOUR_TENANT.us.auth0.com/",
        ),
        Preset(
            # Cognito issues a refresh token with every code flow and rejects offline_access.
            "cognito",
            "cognito",
            "resource",
            False,
            "openid profile email",
            "https://cognito-idp.REGION.amazonaws.com/POOL_ID",
        ),
        Preset(
            "clerk",
            "oidc",
            "resource",
            True,
            "openid profile email offline_access",
            "https://YOUR_INSTANCE.clerk.accounts.dev",
        ),
        Preset(
            "keycloak",
            "oidc",
            "resource",
            False,
            "openid profile email offline_access",
            "https://keycloak.example.com/realms/REALM",
        ),
        Preset(
            "okta",
            "oidc",
            "resource",
            False,
            "openid profile email offline_access",
            "https://YOUR_ORG.okta.com/oauth2/default",
        ),
        Preset(
            "entra",
            "oidc",
            "resource",
            False,
            "openid profile email offline_access",
            "https://login.microsoftonline.com/TENANT_ID/v2.0",
        ),
    )
}


def preset_named(name: str) -> Preset:
    return PRESETS.get(name, PRESETS["generic"])
