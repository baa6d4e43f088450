from django.apps import AppConfig
from django.http import HttpRequest


class ProxyConfig(AppConfig):
    name = "proxy"

    def ready(self) -> None:
        from accounts.api import treat_as_api_call
        from proxy import checks  # noqa: F401  (registers the system checks)

        # A request carrying the proxy's anti-forgery header comes from a page's script: when the
        # accounts middleware refuses it (session ended, Redis down), it gets JSON, not a page.
        treat_as_api_call(_carries_csrf_header)


def _carries_csrf_header(request: HttpRequest) -> bool:
    from proxy.conf import proxy_settings

    return proxy_settings.PROXY_CSRF_HEADER in request.headers
