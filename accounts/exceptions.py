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


class ProviderBusy(ProviderUnavailable):
    """The provider asked to be tried later (429 or 503): 503, with its ``Retry-After`` when it
    gave a sane one (``retry_after`` seconds)."""

    status = 503
    code = "provider_busy"
    title = "The identity provider is busy"

    def __init__(self, message: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderTimedOut(ProviderUnavailable):
    """The provider took the request but sent no answer in time: it may still act on it."""

    code = "provider_timeout"


class SessionStoreUnavailable(AccountsError):
    """Redis, where sessions live, did not answer."""

    status = 503
    code = "session_store_unavailable"
    title = "Sessions are unavailable"


class LoginRequired(AccountsError):
    """There is no usable login for this request. ``login_url`` sends the user back to it.

    The machinery that raises it does not know the site's URLs; an empty ``login_url`` is filled
    in for the request by the public face that hands the error on (``accounts.api``,
    ``accounts.error_pages``).
    """

    status = 401
    code = "login_required"
    title = "Please log in"

    def __init__(self, message: str = "", *, login_url: str = "") -> None:
        super().__init__(message)
        self.login_url = login_url


class SessionEnded(LoginRequired):
    """The session was ended here and now (refresh token rejected, record unreadable...).

    ``reason`` is the same word the ``session_ended`` signal carries.
    """

    code = "session_expired"
    title = "Your session has ended"

    def __init__(self, message: str = "", *, reason: str, login_url: str = "") -> None:
        super().__init__(message, login_url=login_url)
        self.reason = reason


class StepUpRequired(LoginRequired):
    """The session's login does not meet what a page or an API requires: another context class
    (``acr_values``) or a more recent authentication (``max_age``). ``login_url`` asks the
    provider for them and comes back; the JSON answer names them too."""

    code = "step_up_required"
    title = "Please log in again"

    def __init__(
        self,
        message: str = "",
        *,
        acr_values: tuple[str, ...] = (),
        max_age: int | None = None,
        login_url: str = "",
    ) -> None:
        super().__init__(message, login_url=login_url)
        self.acr_values = acr_values
        self.max_age = max_age

    def details(self) -> dict[str, object]:
        return {"acr_values": list(self.acr_values), "max_age": self.max_age}


class StepUpFailed(LoginFailed):
    """The login came back without the ``acr`` or the ``auth_time`` it was asked for: the
    provider may ignore ``acr_values`` (OIDC Core makes them voluntary), and this refuses the
    login it gave instead."""

    status = 403
    code = "step_up_failed"
    title = "The login did not reach the required level"


class InvalidLoginRequest(LoginFailed):
    """``/auth/login/`` was asked for something it cannot ask the provider (a malformed
    ``acr_values`` or ``max_age``)."""

    code = "invalid_request"
    title = "This login link is not valid"


class TokenUnavailable(AccountsError):
    """A token is needed, the one held has expired, and the provider cannot renew it right now.

    The session is kept: the next request tries again.
    """

    status = 503
    code = "token_unavailable"
    title = "Your login cannot be renewed right now"


class TokenRecordUnreadable(AccountsError):
    """The stored token record cannot be decrypted (key removed) or parsed (old format)."""

    status = 401
    code = "session_expired"
    title = "Your session has ended"


class InvalidLogoutToken(AccountsError):
    """A back-channel logout request failed validation (OpenID Back-Channel Logout 1.0 2.6)."""

    status = 400
    code = "invalid_request"
    title = "Invalid logout token"


class PasswordLoginLocked(AccountsError):
    """Too many wrong passwords for this username from this address: axes locked it out.

    ``retry_after`` is the cool-off in seconds, for the ``Retry-After`` header.
    """

    status = 429
    code = "password_login_locked"
    title = "Too many failed logins"

    def __init__(self, message: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
