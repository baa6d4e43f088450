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
    # The ID token claim sent as logout_hint (RP-Initiated Logout 1.0); None sends none.
    logout_hint_claim: str | None = "sid"
    # Where to revoke refresh tokens when discovery lists no revocation_endpoint, as a path on
    # the authorization endpoint's host (Cognito documents /oauth2/revoke but does not list it).
    revocation_path: str | None = None
    # Whether refresh_expires_in is the refresh token's whole lifetime. Keycloak's is the time
    # left until the SSO session's idle limit, which would make the lifetime advice wrong.
    refresh_expires_in_is_lifetime: bool = True
    # What a private_key_jwt assertion's aud names: "issuer" (the recommendation of RFC 7523's
    # successor draft and FAPI 2.0) or "endpoint", the URL it is posted to (Okta, Entra).
    client_assertion_audience: str = "issuer"


_OFFLINE = "openid profile email offline_access"

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="generic",
            logout="oidc",
            audience_parameter="resource",
            prompt_consent_for_offline_access=True,
            default_scopes=_OFFLINE,
            issuer_example="https://login.example.com",
        ),
        Preset(
            name="auth0",
            logout="auth0",
            audience_parameter="audience",
            prompt_consent_for_offline_access=False,
            default_scopes=_OFFLINE,
            issuer_example="https://YOUR_TENANT.us.auth0.com/",
        ),
        Preset(
            # Cognito issues a refresh token with every code flow and rejects offline_access.
            name="cognito",
            logout="cognito",
            audience_parameter="resource",
            prompt_consent_for_offline_access=False,
            default_scopes="openid profile email",
            issuer_example="https://cognito-idp.REGION.amazonaws.com/POOL_ID",
            revocation_path="/oauth2/revoke",
        ),
        Preset(
            name="clerk",
            logout="oidc",
            audience_parameter="resource",
            prompt_consent_for_offline_access=True,
            default_scopes=_OFFLINE,
            issuer_example="https://YOUR_INSTANCE.clerk.accounts.dev",
        ),
        Preset(
            # Keycloak issues refresh tokens without offline_access; with it they become offline
            # tokens that outlive logout. Other APIs come from client scopes with an audience
            # mapper (resource indicators are an experimental feature there).
            name="keycloak",
            logout="oidc",
            audience_parameter="scope",
            prompt_consent_for_offline_access=False,
            default_scopes="openid profile email",
            issuer_example="https://keycloak.example.com/realms/REALM",
            refresh_expires_in_is_lifetime=False,
        ),
        Preset(
            name="okta",
            logout="oidc",
            audience_parameter="resource",
            prompt_consent_for_offline_access=False,
            default_scopes=_OFFLINE,
            issuer_example="https://YOUR_ORG.okta.com/oauth2/default",
            client_assertion_audience="endpoint",
        ),
        Preset(
            # Entra v2 asks for other APIs by scope (api://APP/.default) and expects the
            # login_hint optional claim, not sid, as logout_hint.
            name="entra",
            logout="oidc",
            audience_parameter="scope",
            prompt_consent_for_offline_access=False,
            default_scopes=_OFFLINE,
            issuer_example="https://login.microsoftonline.com/TENANT_ID/v2.0",
            logout_hint_claim="login_hint",
            client_assertion_audience="endpoint",
        ),
    )
}


def preset_named(name: str) -> Preset:
    return PRESETS.get(name, PRESETS["generic"])
