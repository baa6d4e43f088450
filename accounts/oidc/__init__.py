"""Talking to the identity provider: discovery, its HTTP client, its signing keys, the checks on
the ID and logout tokens it signs, the mozilla-django-oidc backend, revocation, RP-initiated
logout URLs and the per-provider presets. Builds on ``accounts.protocol``; knows nothing of
sessions."""
