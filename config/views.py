"""This site's own pages. The accounts and proxy apps bring theirs; the home page is the
project's, and shows how a page uses them: through ``accounts.api`` only, as any project would."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from proxy.upstreams import UpstreamConfigError, configured_upstreams

# The upstream the home page's WebSocket demo talks to (./dev/up registers the sample API's).
WEBSOCKET_DEMO_UPSTREAM = "live"

# What a provider appends when it sends the browser back after logout (RP-initiated logout
# echoes ``state``; RFC 9207 providers add ``iss``): nothing the page reads.
_LOGOUT_RETURN_PARAMETERS = frozenset({"state", "iss"})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.GET and set(request.GET) <= _LOGOUT_RETURN_PARAMETERS:
        # Back from the provider's logout: show a clean address, not the provider's state.
        return HttpResponseRedirect("/")
    # Who is logged in comes from accounts.api's context processor (``logged_in_user``).
    return render(request, "home.html", {"websocket_demo": _websocket_demo()})


def _websocket_demo() -> str | None:
    try:
        upstream = configured_upstreams().get(WEBSOCKET_DEMO_UPSTREAM)
    except UpstreamConfigError:  # reported by proxy.E002; the page still renders
        return None
    return upstream.name if upstream is not None and upstream.websocket else None


# A small mark for the browser tab. Browsers ask for /favicon.ico on every page (the admin's
# too) whatever the page says; answering it keeps a 404 out of every page load and the logs.
_FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#2f5bea"/>'
    '<path d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7zm2 0h2V5a1 1 0 0 0-2 0z" fill="#fff"/></svg>'
)


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_FAVICON, content_type="image/svg+xml")
