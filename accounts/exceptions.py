"""The accounts app's errors. Each carries what a person should see; ``accounts.error_pages``
turns any of them into a response in one place.
"""

from __future__ import annotations


class AccountsError(Exception):
    """Base class. ``status`` is the HTTP status; ``code`` the JSON error code; ``title`` and the
    message are safe to show to a user (they never contain a token or a secret)."""

    status = 500
    code = "accounts_error"
    title = "Something went wrong"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.title)
        self.message = message or self.title


class LoginFailed(AccountsError):
    """The login could not complete because of what came back from the browser or provider."""

    status = 400
    code = "login_failed"
    title = "Login could not be completed"


class InvalidIDToken(LoginFailed):
    """The ID token failed a check (signature, issuer, audience, expiry, nonce, ...)."""

    code = "invalid_id_token"


class ProviderError(LoginFailed):
    """The provider answered the authorization request with an error (e.g. access_denied)."""

    code = "provider_error"
    title = "The identity provider refused the login"


class ProviderUnavailable(AccountsError):
    """The provider could not be reached, timed out, or answered with a server error."""

    status = 502
    code = "provider_unavailable"
    title = "The identity provider is unavailable"


class SessionStoreUnavailable(AccountsError):
    """Redis, where sessions live, did not answer."""

    status = 503
    code = "session_store_unavailable"
    title = "Sessions are unavailable"
