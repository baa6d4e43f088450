"""The benchmark's comparison views. Not part of the site."""

import os

from django.http import JsonResponse
from revproxy.views import ProxyView

from accounts.api import get_access_token


def bare(request):
    """The in-Django ceiling: the whole middleware stack and one Redis session read."""
    return JsonResponse({"ok": True, "user": request.session.get("_auth_user_id")})


class RevProxyWithBearer(ProxyView):
    """django-revproxy 0.13 doing our proxy's job: the same upstream, the session's token."""

    upstream = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:1")

    def get_request_headers(self):
        headers = super().get_request_headers()
        headers["Authorization"] = f"Bearer {get_access_token(self.request)}"
        return headers
