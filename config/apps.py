from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The project itself, installed so that its system checks run."""

    name = "config"

    def ready(self) -> None:
        # Imported for its side effect: the system checks.
        from config import checks  # noqa: F401
