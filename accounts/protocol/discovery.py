"""Where an issuer publishes its metadata (OpenID Connect Discovery 1.0, section 4).

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
