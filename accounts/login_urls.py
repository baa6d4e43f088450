from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest
from django.urls import reverse

from accounts.conf import accounts_settings
from accounts.redirects import safe_next_path


def login_url_for(request: HttpRequest) -> str:
    """Where to send this request's user to log in, coming back to what they were doing.

    A page (GET asking for HTML) comes back to itself. An API call or a form post cannot be
    replayed after a login, so the user comes back to the page that made it (its Referer, when it
    is on this site), else home.
    """
    if request.method == "GET" and "text/html" in request.headers.get("Accept", "text/html"):
        next_path = request.get_full_path()
    else:
        next_path = _same_site_referer_path(request)
    return reverse("accounts:login") + "?" + urlencode({"next": safe_next_path(next_path)})


def _same_site_referer_path(request: HttpRequest) -> str:
    referer = urlsplit(request.headers.get("Referer", ""))
    site = urlsplit(accounts_settings.SITE_URL)
    if (referer.scheme, referer.netloc) != (site.scheme, site.netloc):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")
