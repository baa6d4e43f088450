"""Who may log into the admin, and how: password logins throttled by django-axes (``lockout``)
and switched off by ``ACCOUNTS_PASSWORD_LOGIN`` (``password_login``), so that staff come through
the provider instead (their flags from its groups claim: ``accounts.oidc.staff``)."""
