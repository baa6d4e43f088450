"""The accounts app's settings, read on every access so ``override_settings`` works in tests.

Every default is written here once. Code never writes to ``django.conf.settings``.
"""

from __future__ import annotations

from django.conf import settings
from mozilla_django_oidc.utils import import_from_settings

from accounts.protocol.presets import Preset, preset_named

# Claims that describe the person and are safe to show on pages and in /auth/session/.
# Protocol claims (nonce, at_hash, aud, ...) stay out.
DEFAULT_PUBLIC_CLAIMS = (
    "sub",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "nickname",
    "email",
    "email_verified",
    "picture",
    "locale",
    "zoneinfo",
)

# Fifteen minutes at the provider's forms: time to find a second factor or enrol one, short
# enough that an abandoned login's entry does not linger.
DEFAULT_LOGIN_TIMEOUT = 900

# What mozilla-django-oidc's views and backend read from settings, as these apps need it. They
# are not a project's to choose: the backend refuses a callback without a PKCE verifier (most
# providers demand PKCE anyway), the nonce is checked with the ID token, and the redirect URI is
# this app's callback. Carried here, a project that installs the apps sets none of them
# (accounts.W009 says when one it does set is ignored).
MOZILLA_OIDC_SETTINGS: dict[str, object] = {
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_USE_NONCE": True,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "accounts:callback",
}


def mozilla_oidc_setting(name: str, *default: object) -> object:
    """``get_settings`` for the mozilla-django-oidc classes these apps subclass."""
    if name in MOZILLA_OIDC_SETTINGS:
        return MOZILLA_OIDC_SETTINGS[name]
    return import_from_settings(name, *default)


def seconds_from(value: object) -> int | None:
    """``value`` as a positive whole number of seconds (an int or its digits), else None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


class AccountsSettings:
    @property
    def SITE_URL(self) -> str:
        return str(getattr(settings, "SITE_URL", "")).rstrip("/")

    @property
    def OIDC_PROVIDER(self) -> str:
        return str(getattr(settings, "OIDC_PROVIDER", "generic"))

    @property
    def OIDC_ISSUER(self) -> str:
        return str(getattr(settings, "OIDC_ISSUER", ""))

    @property
    def OIDC_CLIENT_ID(self) -> str:
        return str(getattr(settings, "OIDC_CLIENT_ID", ""))

    @property
    def OIDC_CLIENT_SECRET(self) -> str:
        return str(getattr(settings, "OIDC_CLIENT_SECRET", ""))

    @property
    def OIDC_SCOPES(self) -> list[str]:
        scopes = str(getattr(settings, "OIDC_SCOPES", "") or "")
        return (scopes or self.PRESET.default_scopes).split()

    @property
    def PRESET(self) -> Preset:
        return preset_named(self.OIDC_PROVIDER)

    @property
    def OIDC_EXTRA_AUDIENCES(self) -> list[str]:
        return list(getattr(settings, "OIDC_EXTRA_AUDIENCES", []))

    @property
    def OIDC_AUDIENCE(self) -> str:
        return str(getattr(settings, "OIDC_AUDIENCE", ""))

    @property
    def OIDC_SIGNING_ALGORITHM(self) -> str:
        # One algorithm, pinned: a token signed with any other (none, HS256 keyed with the public
        # key, ...) is refused before its signature is even looked at.
        return str(getattr(settings, "OIDC_RP_SIGN_ALGO", "RS256"))

    @property
    def OIDC_TRUSTED_AUDIENCES(self) -> frozenset[str]:
        """Audiences besides the client id that an ID token may also name (OIDC Core 3.1.3.7)."""
        return frozenset(getattr(settings, "OIDC_TRUSTED_AUDIENCES", ()))

    @property
    def OIDC_CLOCK_SKEW(self) -> int:
        """Seconds of leeway on exp/iat/nbf: providers' clocks drift, and that is no 500."""
        return int(getattr(settings, "OIDC_CLOCK_SKEW", 60))

    @property
    def OIDC_ID_TOKEN_MAX_AGE(self) -> int:
        """An ID token issued longer ago than this (by ``iat``) is refused as stale or replayed."""
        return int(getattr(settings, "OIDC_ID_TOKEN_MAX_AGE", 600))

    @property
    def OIDC_LOGIN_TIMEOUT(self) -> int:
        """Seconds a login may take from ``/auth/login/`` to the callback: what its entry in
        Redis and its cookie live. Anything but a positive whole number is the default
        (accounts.W021 says so)."""
        seconds = seconds_from(getattr(settings, "OIDC_LOGIN_TIMEOUT", DEFAULT_LOGIN_TIMEOUT))
        return seconds or DEFAULT_LOGIN_TIMEOUT

    @property
    def OIDC_HTTP_TIMEOUT(self) -> tuple[float, float]:
        """(connect, read) seconds for every call to the provider."""
        connect, read = getattr(settings, "OIDC_HTTP_TIMEOUT", (3.05, 10.0))
        return float(connect), float(read)

    @property
    def OIDC_REFRESH_TIMEOUT(self) -> tuple[float, float]:
        """(connect, read) seconds for a refresh grant. Longer than other calls: a provider
        that finishes a refresh after we gave up has consumed the refresh token, and with
        rotation the next refresh then fails (docs/tokens.md)."""
        connect, read = getattr(settings, "OIDC_REFRESH_TIMEOUT", (3.05, 30.0))
        return float(connect), float(read)

    @property
    def OIDC_REFRESH_REUSE_INTERVAL(self) -> float:
        """Seconds the provider accepts a rotated refresh token again (Auth0's "Reuse
        Interval", Keycloak's "Refresh Token Max Reuse" window). When above zero, a refresh
        whose answer never came is sent once more while that window lasts. 0: the provider
        has none, and a second try would look like theft to it."""
        return float(getattr(settings, "OIDC_REFRESH_REUSE_INTERVAL", 0))

    @property
    def OIDC_FORCED_REFRESH_INTERVAL(self) -> float:
        """An upstream's rejection renews the token at most once per this many seconds per
        session: a token this fresh is sent again rather than renewed again."""
        return float(getattr(settings, "OIDC_FORCED_REFRESH_INTERVAL", 10))

    @property
    def OIDC_USE_PAR(self) -> str:
        """Pushed authorization requests (RFC 9126): "auto" when the provider offers them (and
        whenever it requires them), "always" (a provider without PAR refuses the login), "never"."""
        return str(getattr(settings, "OIDC_USE_PAR", "auto") or "auto").lower()

    @property
    def OIDC_CLIENT_AUTH_METHOD(self) -> str:
        """How this client proves itself at the token, PAR and revocation endpoints:
        "client_secret_basic", "client_secret_post" or "private_key_jwt"."""
        method = getattr(settings, "OIDC_CLIENT_AUTH_METHOD", "") or "client_secret_basic"
        return str(method)

    @property
    def OIDC_CLIENT_SIGNING_KEYS(self) -> str:
        """PEM private keys for private_key_jwt, the first signs; all are published."""
        return str(getattr(settings, "OIDC_CLIENT_SIGNING_KEYS", "") or "")

    @property
    def OIDC_CLIENT_SIGNING_ALGORITHM(self) -> str:
        return str(getattr(settings, "OIDC_CLIENT_SIGNING_ALGORITHM", "") or "RS256")

    @property
    def OIDC_CLIENT_ASSERTION_AUDIENCE(self) -> str:
        """What a private_key_jwt assertion's ``aud`` names: "issuer" or "endpoint" (the URL
        it is sent to); empty takes the provider preset's."""
        value = getattr(settings, "OIDC_CLIENT_ASSERTION_AUDIENCE", "") or ""
        return str(value or self.PRESET.client_assertion_audience).lower()

    @property
    def OIDC_USE_DPOP(self) -> bool:
        """Sender-constrained tokens (RFC 9449): code exchange and refresh carry DPoP proofs."""
        return bool(getattr(settings, "OIDC_USE_DPOP", False))

    @property
    def OIDC_DPOP_KEYS(self) -> str:
        """PEM private keys for DPoP proofs; the first binds new logins, a session keeps the
        key its tokens are bound to while that key is listed."""
        return str(getattr(settings, "OIDC_DPOP_KEYS", "") or "")

    @property
    def OIDC_DPOP_ALGORITHM(self) -> str:
        return str(getattr(settings, "OIDC_DPOP_ALGORITHM", "") or "ES256")

    @property
    def OIDC_DISCOVERY_TTL(self) -> int:
        return int(getattr(settings, "OIDC_DISCOVERY_TTL", 3600))

    @property
    def OIDC_JWKS_TTL(self) -> int:
        return int(getattr(settings, "OIDC_JWKS_TTL", 3600))

    @property
    def OIDC_JWKS_MIN_REFETCH_INTERVAL(self) -> float:
        """An unknown ``kid`` refetches the key set at most this often, so a flood of forged
        tokens cannot turn into a flood of requests to the provider."""
        return float(getattr(settings, "OIDC_JWKS_MIN_REFETCH_INTERVAL", 30))

    @property
    def OIDC_REFRESH_LOCK(self) -> bool:
        """The single-flight lock around refreshes. Only tests turn it off, to show the race."""
        return bool(getattr(settings, "OIDC_REFRESH_LOCK", True))

    @property
    def SESSION_CACHE_ALIAS(self) -> str:
        return str(getattr(settings, "SESSION_CACHE_ALIAS", "default"))

    @property
    def REDIS_KEY_PREFIX(self) -> str:
        """The prefix of keys written with raw Redis commands (index, locks, replay records):
        the session cache's own KEY_PREFIX, so every key of a site shares one prefix."""
        alias = self.SESSION_CACHE_ALIAS
        return str(settings.CACHES.get(alias, {}).get("KEY_PREFIX") or "bff")

    @property
    def OIDC_PUBLIC_CLAIMS(self) -> tuple[str, ...]:
        return tuple(getattr(settings, "OIDC_PUBLIC_CLAIMS", DEFAULT_PUBLIC_CLAIMS))

    @property
    def OIDC_GROUPS_CLAIM(self) -> str:
        """The ID token claim listing the user's groups (e.g. "groups"); empty leaves groups be."""
        return str(getattr(settings, "OIDC_GROUPS_CLAIM", ""))

    @property
    def OIDC_EXTRA_AUTH_PARAMS(self) -> dict[str, str]:
        return dict(getattr(settings, "OIDC_EXTRA_AUTH_PARAMS", {}))

    @property
    def OIDC_STAFF_GROUPS(self) -> frozenset[str]:
        """Groups (from ``OIDC_GROUPS_CLAIM``) whose members are staff; empty leaves is_staff be."""
        return frozenset(getattr(settings, "OIDC_STAFF_GROUPS", ()))

    @property
    def OIDC_SUPERUSER_GROUPS(self) -> frozenset[str]:
        """Groups whose members are superusers (and staff); empty leaves is_superuser be."""
        return frozenset(getattr(settings, "OIDC_SUPERUSER_GROUPS", ()))

    @property
    def OIDC_PROVIDER_DISPLAY_NAME(self) -> str:
        """What the "Log in with ..." link on the admin's login page calls the provider."""
        return str(getattr(settings, "OIDC_PROVIDER_DISPLAY_NAME", "") or "the identity provider")

    @property
    def PASSWORD_LOGIN(self) -> bool:
        """Whether username and password logins (the admin's form, any ModelBackend login) work.

        On by default so the break-glass accounts made with createsuperuser keep working; off,
        staff reach the admin only through the provider.
        """
        return bool(getattr(settings, "ACCOUNTS_PASSWORD_LOGIN", True))


accounts_settings = AccountsSettings()
