"""Pieces of OAuth 2.0 and OpenID Connect that need neither Django nor any I/O of their own: which
published key may have signed a JWT, and the like. ``accounts.oidc`` and
``accounts.resource_server`` both build on them."""
