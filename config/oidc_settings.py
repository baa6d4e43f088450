"""The ``OIDC_*`` settings: which provider, this site's registration with it, and how the site
authenticates to it and binds its tokens (PAR, private_key_jwt, DPoP). All from the environment;
read only by ``config.settings``, and docs/configuration.md lists each with its default.
"""

from __future__ import annotations

from config.environment import env_bool, env_list, env_seconds, env_str

OIDC_PROVIDER = env_str("OIDC_PROVIDER", "generic")
OIDC_ISSUER = env_str("OIDC_ISSUER")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
# Empty means the preset's default scopes (accounts/protocol/presets.py).
OIDC_SCOPES = env_str("OIDC_SCOPES")
OIDC_AUDIENCE = env_str("OIDC_AUDIENCE")
# More APIs whose tokens the login should be allowed to obtain later (RFC 8707 resource
# indicators sent at login; see docs/tokens.md "Tokens for other APIs").
OIDC_EXTRA_AUDIENCES = env_list("OIDC_EXTRA_AUDIENCES")
# Seconds your provider accepts a rotated refresh token again (Auth0 "Reuse Interval", Keycloak
# "Refresh Token Max Reuse"); 0 if it has none. See docs/tokens.md.
OIDC_REFRESH_REUSE_INTERVAL = float(env_str("OIDC_REFRESH_REUSE_INTERVAL", "0") or 0)
# Staff and superusers from the provider: the ID token claim that lists a user's groups, and
# the groups that make one staff or superuser at each login (docs/configuration.md).
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM")
OIDC_STAFF_GROUPS = env_list("OIDC_STAFF_GROUPS")
OIDC_SUPERUSER_GROUPS = env_list("OIDC_SUPERUSER_GROUPS")
OIDC_PROVIDER_DISPLAY_NAME = env_str("OIDC_PROVIDER_DISPLAY_NAME")
# Seconds a login may take at the provider before its callback is refused as expired.
OIDC_LOGIN_TIMEOUT = env_seconds("OIDC_LOGIN_TIMEOUT", 900)
# Modern OAuth (docs/configuration.md "Client authentication, PAR and DPoP"): PAR "auto" uses
# the provider's pushed authorization endpoint when it has one; private_key_jwt and DPoP sign with
# PEM keys from these variables (several for rotation, the first signs).
OIDC_USE_PAR = env_str("OIDC_USE_PAR", "auto")
OIDC_CLIENT_AUTH_METHOD = env_str("OIDC_CLIENT_AUTH_METHOD", "client_secret_basic")
OIDC_CLIENT_SIGNING_KEYS = env_str("OIDC_CLIENT_SIGNING_KEYS")
OIDC_CLIENT_SIGNING_ALGORITHM = env_str("OIDC_CLIENT_SIGNING_ALGORITHM", "RS256")
# Empty: the provider preset's choice ("issuer", or "endpoint" for Okta and Entra).
OIDC_CLIENT_ASSERTION_AUDIENCE = env_str("OIDC_CLIENT_ASSERTION_AUDIENCE")
OIDC_USE_DPOP = env_bool("OIDC_USE_DPOP", default=False)
OIDC_DPOP_KEYS = env_str("OIDC_DPOP_KEYS")
OIDC_DPOP_ALGORITHM = env_str("OIDC_DPOP_ALGORITHM", "ES256")
