"""Why an access token is refused, and how each refusal is told to the client (RFC 6750 section 3,
RFC 9449 section 7.1): the status, the ``WWW-Authenticate`` challenge (and a ``DPoP-Nonce``
when the server wants one) and a JSON body. Free of Django."""

from __future__ import annotations

from collections.abc import Iterable


class AccessTokenError(Exception):
    """The request's access token is missing or unacceptable (RFC 6750 §3.1 ``invalid_token``).

    ``scheme`` is the scheme whose challenge carries the error: ``DPoP`` when the request used
    DPoP or the API takes nothing else. ``dpop_algs``, when the API accepts DPoP, is what its
    ``DPoP`` challenge lists; a ``Bearer`` refusal then names DPoP as a second challenge, so a
    client learns it may use it (RFC 9449 §7.1-7.2).
    """

    status = 401
    error: str | None = "invalid_token"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description
        self.scheme = "Bearer"
        self.dpop_algs: tuple[str, ...] = ()

    def challenged(self, scheme: str, dpop_algs: Iterable[str]) -> AccessTokenError:
        """This refusal, told in ``scheme`` for an API that accepts DPoP with ``dpop_algs``."""
        self.scheme = scheme
        self.dpop_algs = tuple(dpop_algs)
        return self

    def www_authenticate(self) -> str:
        params = ['realm="api"']
        if self.scheme == "DPoP":
            params.append(f'algs="{" ".join(self.dpop_algs)}"')
        if self.error is not None:
            # No token at all: RFC 6750 §3.1 says the challenge carries no error code. A
            # quoted-string may not hold '"' or '\\' unescaped (RFC 9110 §5.6.4); keep it plain.
            description = self.description.replace('"', "'").replace("\\", "/")
            params += [f'error="{self.error}"', f'error_description="{description}"']
        params += self._more_params()
        challenge = f"{self.scheme} {', '.join(params)}"
        if self.scheme == "Bearer" and self.dpop_algs:
            challenge += f', DPoP algs="{" ".join(self.dpop_algs)}"'
        return challenge

    def headers(self) -> dict[str, str]:
        """Every header the refusal needs: ``WWW-Authenticate``, and more for some."""
        return {"WWW-Authenticate": self.www_authenticate()}

    def as_json(self) -> dict[str, str]:
        return {"error": self.error or "token_missing", "message": self.description}

    def _more_params(self) -> list[str]:
        return []


class TokenMissing(AccessTokenError):
    error = None


class InsufficientScope(AccessTokenError):
    status = 403
    error = "insufficient_scope"

    def __init__(self, description: str, *, required: Iterable[str]) -> None:
        super().__init__(description)
        self.required = tuple(required)

    def _more_params(self) -> list[str]:
        return [f'scope="{" ".join(self.required)}"']


class DPoPProofInvalid(AccessTokenError):
    """The ``DPoP`` proof is missing, malformed, not for this request, or was used before."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(AccessTokenError):
    """The proof lacks this server's current nonce: ``nonce`` goes back in ``DPoP-Nonce`` and the
    client signs again with it (RFC 9449 §9)."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "DPoP-Nonce": self.nonce}


class KeyUnavailable(AccessTokenError):
    """The provider's keys could not be fetched: the token cannot be checked, so it is refused."""

    status = 503
    error = "temporarily_unavailable"


class NotConfigured(AccessTokenError):
    """The API has no issuer or audience to check tokens against (``RESOURCE_SERVER_*``): the
    token cannot be checked, so it is refused, as when the keys cannot be fetched. The system
    check ``accounts.E020`` names the setting before any request comes."""

    status = 503
    error = "temporarily_unavailable"


class ReplayCheckUnavailable(AccessTokenError):
    """The replay cache did not answer, so a DPoP proof cannot be known to be new: refused."""

    status = 503
    error = "temporarily_unavailable"
