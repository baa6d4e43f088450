"""Where an issuer publishes its metadata: OpenID Connect Discovery 1.0 (section 4) and OAuth 2.0
Authorization Server Metadata (RFC 8414, section 3).

Both the login side (``accounts.oidc.discovery``) and the resource-server helper build the
address here, so the two can never disagree on it.
"""

from __future__ import annotations


def discovery_url(issuer: str) -> str:
    """The discovery document's URL for ``issuer``.

    Section 4.1 appends the path to the issuer after removing a trailing ``/``; the document's
    own ``issuer`` must still equal ``issuer`` exactly, which each caller checks.
    """
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def authorization_server_metadata_url(issuer: str) -> str:
    """RFC 8414's metadata URL for ``issuer``: the well-known segment goes *before* the issuer's
    path (section 3.1), ``https://op.test/tenant`` → ``https://op.test/.well-known/
    oauth-authorization-server/tenant``."""
    scheme, _, rest = issuer.partition("://")
    host, slash, path = rest.partition("/")
    path = path.rstrip("/")
    suffix = f"/{path}" if slash and path else ""
    return f"{scheme}://{host}/.well-known/oauth-authorization-server{suffix}"
