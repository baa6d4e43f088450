"""Pieces of OAuth 2.0 and OpenID Connect that need neither Django nor any I/O of their own:
where an issuer's discovery document lives (``discovery``), which published key may have signed a
JWT and which headers name a key of their own (``key_selection``), a cache of a published key set
(``key_sets``), and what each provider does differently (``presets``, plain data that
``accounts.conf`` reads). ``accounts.oidc`` and ``accounts.resource_server`` both build on them;
this package imports nothing else from ``accounts``."""
