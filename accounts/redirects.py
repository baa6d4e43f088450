"""Where the browser is sent: to the login and back, after login or logout: local paths only.

``next`` comes from the browser, so it is attacker-controlled. Django's
``url_has_allowed_host_and_scheme`` also admits absolute URLs to allowed hosts; we admit less: a
path that starts with exactly one ``/``, with no scheme, host, backslash or control character,
checked both as given and after percent-decoding (browsers and proxies decode in different places).
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit

from django.http import HttpRequest
from django.urls import reverse

from accounts.conf import accounts_settings
from accounts.protocol.step_up import AuthenticationRequirement


def safe_next_path(candidate: str | None, default: str = "/") -> str:
    """Return ``candidate`` if it is a safe local path, else ``default``."""
    if not candidate or len(candidate) > 2000:
        return default
    if not (_is_local_path(candidate) and _is_local_path(unquote(candidate))):
        return default
    return candidate


def _is_local_path(value: str) -> bool:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    if "\\" in value:
        return False
    if not value.startswith("/") or value.startswith("//"):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def login_url_for(
    request: HttpRequest, requirement: AuthenticationRequirement | None = None
) -> str:
    """Where to send this request's user to log in, coming back to what they were doing.

    A page (GET asking for HTML) comes back to itself. An API call or a form post cannot be
    replayed after a login, so the user comes back to the page that made it (its Referer, when it
    is on this site), else home. A ``requirement`` (step-up) goes along as ``acr_values`` and
    ``max_age``, which the login view asks the provider for.
    """
    if request.method == "GET" and "text/html" in request.headers.get("Accept", "text/html"):
        next_path = request.get_full_path()
    else:
        next_path = _same_site_referer_path(request)
    params = {"next": safe_next_path(next_path)}
    if requirement:
        params.update(requirement.login_parameters())
    return reverse("accounts:login") + "?" + urlencode(params)


def _same_site_referer_path(request: HttpRequest) -> str:
    try:
        referer = urlsplit(request.headers.get("Referer", ""))
    except ValueError:
        return "/"  # "http://[" and the like: the browser's header, not worth a 500
    site = urlsplit(accounts_settings.SITE_URL)
    if (referer.scheme, referer.netloc) != (site.scheme, site.netloc):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")
