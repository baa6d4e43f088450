from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported for their side effects: system checks, signal receivers.
        from accounts import checks, metrics  # noqa: F401

        # runserver logs each request line with its query string: the callback's holds the
        # authorization code. Done here so a project using the apps is covered without copying
        # a logging configuration.
        from accounts.log_filters import drop_query_strings_from_request_lines

        # The owners of what the session store carries and the hooks it runs register at
        # import; this is before any request can load a session (accounts.sessions.records).
        from accounts.sessions import activity, lifetimes, tombstones  # noqa: F401
        from accounts.tokens import record, revoke_on_end  # noqa: F401

        drop_query_strings_from_request_lines()

        # A changed password ends the user's sessions, the proxy's fast path included.
        from accounts.admin_access import password_changes

        password_changes.connect()
