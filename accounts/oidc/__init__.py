"""Talking to the identity provider: discovery, its HTTP client, its signing keys, the checks on
the ID and logout tokens it signs, the token endpoint's answers, the mozilla-django-oidc backend,
revocation and RP-initiated logout URLs. Builds on ``accounts.protocol``; knows nothing of
sessions or of the token record."""
