"""The token record and its renewal: what the provider issued, encrypted beside the session, and
the single-flight refresh that renews it once per expiry. Builds on ``accounts.sessions`` (where
the record is kept) and ``accounts.oidc`` (who renews it)."""
