"""The user's token on its way upstream: in which scheme, and whether it may go at all. The rule
the three shells share (``proxy.views``, ``proxy.asgi_http``, ``proxy.websockets``), for the
first send of a call and for each retry.

The token's own type decides the scheme, never the upstream's settings (RFC 9449 §7.1): a
DPoP-bound token goes as ``Authorization: DPoP`` with a fresh proof of the key it is bound to,
to every upstream, and a bearer token as ``Authorization: Bearer``. Sent as a bearer token, a
bound token is refused by an API that checks the binding (§7.2), and every refusal would renew
it for another bound one; an API that does not check would take it, and the binding would
protect nothing there.

``"dpop": true`` says an upstream takes DPoP-bound tokens only. A bearer token (``OIDC_USE_DPOP``
off, or a provider that did not bind it) is not sent there: **503** ``dpop_unavailable``, the
session kept, no renewal (it would bring another bearer token), the upstream never called.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from accounts.api import AccessCredential
from proxy.exceptions import UpstreamNeedsBoundToken
from proxy.upstreams import Upstream

# Every header that carries the token: a retry replaces them all, so a token renewed as another
# type leaves no stale proof behind.
CREDENTIAL_HEADERS = ("Authorization", "DPoP")


def check_token_fits(upstream: Upstream, token: AccessCredential) -> None:
    """Raises ``UpstreamNeedsBoundToken`` when ``upstream`` takes DPoP-bound tokens only and
    ``token`` is not one."""
    if upstream.dpop and not token.dpop_bound:
        raise UpstreamNeedsBoundToken(
            f"{upstream.name} takes DPoP-bound tokens only, and this session's token is a "
            "bearer token: the identity provider did not bind it to this site's DPoP key."
        )


def credential_headers(
    upstream: Upstream,
    method: str,
    target: str,
    token: AccessCredential | None,
    nonce: str | None,
) -> dict[str, str]:
    """The headers that carry ``token`` with ``method`` to ``target`` (path and query) upstream:
    none without a token; a DPoP proof's ``htu`` is the upstream's URL without its query, and
    carries ``nonce`` (the upstream's latest)."""
    if token is None:
        return {}
    check_token_fits(upstream, token)
    return token.headers_for(method, upstream.origin + target, nonce=nonce)


def replace_credentials(headers: MutableMapping[str, str], credentials: dict[str, str]) -> None:
    """Put ``credentials`` in ``headers`` in place of the last attempt's."""
    for name in CREDENTIAL_HEADERS:
        headers.pop(name, None)
    headers.update(credentials)
