from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported for their side effects: system checks, signal receivers.
        from accounts import checks, metrics  # noqa: F401
        from accounts.sessions import activity, lifetimes  # noqa: F401
