"""An access token with the scheme it must be presented in: what a view, or the proxy, sends to
an API.

The token's own type decides, as the token endpoint named it (``token_type``), and nothing else:
a DPoP-bound token ("DPoP", in any case) goes as ``Authorization: DPoP <token>`` with a fresh
proof of the key it is bound to (RFC 9449 section 7.1), any other as ``Authorization: Bearer
<token>`` (RFC 6750). Sent as a bearer token, a bound one is refused by an API that checks the
binding (section 7.2) and protects nothing at one that does not; sent as DPoP, an unbound one is
refused too. No setting of the API's can make a bearer token bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.oidc.dpop_client import access_token_proof
from accounts.protocol.dpop import TOKEN_TYPE, is_dpop_bound

BEARER = "Bearer"


@dataclass(frozen=True)
class AccessCredential:
    """An access token (``token``) and its ``token_type``. Its ``repr`` leaves the token out, so
    neither a log line nor an error report that shows the object shows the token."""

    token: str = field(repr=False)
    token_type: str = BEARER

    @property
    def dpop_bound(self) -> bool:
        return is_dpop_bound(self.token_type)

    @property
    def scheme(self) -> str:
        """``"DPoP"`` or ``"Bearer"``: the ``Authorization`` scheme, and the scheme of the
        ``WWW-Authenticate`` challenges that speak of this token."""
        return TOKEN_TYPE if self.dpop_bound else BEARER

    def headers_for(self, method: str, url: str, *, nonce: str | None = None) -> dict[str, str]:
        """The headers that present the token with a ``method`` request to ``url``: its
        ``Authorization``, and for a DPoP-bound token a new ``DPoP`` proof of that request
        (``nonce``: the one the API last handed out, if it asked for one). Make them again for
        every request: a proof is good for one. Raises ``DPoPKeyMissing`` (503) when a bound
        token's proof cannot be signed (``OIDC_DPOP_KEYS`` empty)."""
        if not self.dpop_bound:
            return {"Authorization": f"{BEARER} {self.token}"}
        proof = access_token_proof(self.token, method=method, url=url, nonce=nonce)
        return {"Authorization": f"{TOKEN_TYPE} {self.token}", "DPoP": proof}
