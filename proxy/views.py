"""``/api/proxy/<upstream>/<path>``: forward a page's API call with the user's access token.

The order of the steps is the security argument: the upstream is looked up in the allow-list,
the method and the anti-forgery header are checked, the path is checked, and only then is a token
fetched (which may call the provider) and the upstream touched.
"""

from __future__ import annotations

import logging

import urllib3
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.api import AccountsError, get_access_token
from proxy.bodies import RequestBody, read_request_body
from proxy.challenges import token_rejected
from proxy.conf import proxy_settings
from proxy.exceptions import CsrfHeaderMissing, MethodNotAllowed, ProxyError
from proxy.forwarding import UpstreamBody, discard, read_whole, send
from proxy.headers import browser_response_headers, upstream_request_headers
from proxy.metrics import PROXIED, UPSTREAM_SECONDS
from proxy.paths import check_path, check_query, raw_request_path, split_forwarded_path
from proxy.redirects import rewrite_location
from proxy.responses import error_response
from proxy.upstreams import Upstream, get_upstream

logger = logging.getLogger(__name__)

# Statuses whose responses never have a body (RFC 9110 §6.4.1).
_NO_BODY_STATUSES = frozenset({204, 304})


# Exempt from Django's CSRF token check only because ``_require_csrf_header`` replaces it: every
# proxied call must carry a custom header, which a cross-site form, link or image cannot add and
# a cross-site script can only add after a CORS preflight this site never grants. Django's token
# check would also force every script to read and send the csrftoken cookie for nothing more.
@csrf_exempt
def proxy(request: HttpRequest, upstream: str, path: str = "") -> HttpResponseBase:
    try:
        response = _forward(request, get_upstream(upstream), path)
    except (ProxyError, AccountsError) as error:
        response = error_response(request, error)
    # Only names from the allow-list become labels: an unknown name in a URL must not create
    # a new time series per attempt.
    label = upstream if response.status_code != 404 or _known(upstream) else "(unknown)"
    PROXIED.labels(upstream=label, status=str(response.status_code)).inc()
    return response


def _known(name: str) -> bool:
    try:
        get_upstream(name)
    except ProxyError:
        return False
    return True


def _forward(request: HttpRequest, upstream: Upstream, decoded_path: str) -> HttpResponseBase:
    method = request.method or "GET"
    if method not in upstream.methods:
        raise MethodNotAllowed(
            f"{upstream.name} does not accept {method}.", allowed=upstream.methods
        )
    _require_csrf_header(request)
    environ = request.META
    full_path = request.path
    prefix = full_path[: len(full_path) - len(decoded_path)] if decoded_path else full_path
    raw_path = check_path(split_forwarded_path(raw_request_path(environ, full_path), prefix))
    target = upstream.target_for(raw_path, check_query(environ.get("QUERY_STRING", "")))

    body = read_request_body(
        environ,
        limit=upstream.max_body_bytes,
        replay_limit=proxy_settings.PROXY_REPLAY_BODY_LIMIT,
        chunk_size=proxy_settings.PROXY_CHUNK_SIZE,
    )
    token = _bearer_token(request, upstream, force=False)
    headers = upstream_request_headers(
        environ,
        csrf_header=proxy_settings.PROXY_CSRF_HEADER,
        bearer_token=token,
        forwarded_host=request.get_host(),
        forwarded_proto=request.scheme or "http",
    )
    response = _send(upstream, method, target, headers, body)
    if (
        response.status == 401
        and token is not None
        and body.replayable
        and token_rejected(response.headers.getlist("WWW-Authenticate"))
    ):
        # The upstream says the token is bad (revoked, or rotated early): renew it once and
        # try once more. Whatever the second answer is goes back to the browser, so this never
        # loops; the renewal itself happens at most once per session per short interval.
        logger.info("%s answered 401; renewing the access token once", upstream.name)
        discard(response, keep_up_to=proxy_settings.PROXY_CHUNK_SIZE)
        token = _bearer_token(request, upstream, force=True)
        headers["Authorization"] = f"Bearer {token}"
        response = _send(upstream, method, target, headers, body)
    return _browser_response(request, response, upstream, target=target, proxy_base=prefix)


def _require_csrf_header(request: HttpRequest) -> None:
    name = proxy_settings.PROXY_CSRF_HEADER
    # Straight from the WSGI environ: request.headers would copy every header to find one.
    if not request.META.get("HTTP_" + name.upper().replace("-", "_")):
        raise CsrfHeaderMissing(
            f"Send the header '{name}: 1' with every call through the proxy (fetch(url, "
            f"{{headers: {{'{name}': '1'}}}}))."
        )


def _bearer_token(request: HttpRequest, upstream: Upstream, *, force: bool) -> str | None:
    if upstream.auth == "none":
        return None
    # An optional upstream is called anonymously when nobody is logged in; a logged-in user
    # whose token cannot be had gets the same error as on a required upstream, rather than a
    # silent downgrade to an anonymous call.
    if upstream.auth == "optional" and not request.user.is_authenticated:
        return None
    return get_access_token(request, audience=upstream.audience, scope=upstream.scope, force=force)


def _send(
    upstream: Upstream, method: str, target: str, headers: dict[str, str], body: RequestBody
) -> urllib3.BaseHTTPResponse:
    length = body.content_length
    if length is not None:
        headers["Content-Length"] = str(length)
    with UPSTREAM_SECONDS.labels(upstream=upstream.name).time():
        return send(
            upstream,
            method,
            target,
            headers,
            body.body(),
            chunked=length is None and not body.empty,
        )


def _browser_response(
    request: HttpRequest,
    upstream_response: urllib3.BaseHTTPResponse,
    upstream: Upstream,
    *,
    target: str,
    proxy_base: str,
) -> HttpResponseBase:
    headers, cookies = browser_response_headers(
        upstream_response.headers.items(),
        forward_set_cookie=proxy_settings.PROXY_FORWARD_SET_COOKIE,
    )
    if "Location" in headers:
        headers["Location"] = rewrite_location(
            headers["Location"],
            request_url=upstream.origin + target,
            upstream_base=upstream.origin + upstream.base_path,
            proxy_base=proxy_base.rstrip("/"),
        )
    status = upstream_response.status
    # Never let Django's text/html default label an untyped body: the browser would render it.
    content_type = headers.pop("Content-Type", None) or "application/octet-stream"
    chunk_size = proxy_settings.PROXY_CHUNK_SIZE
    length = headers.get("Content-Length", "")
    has_body = status not in _NO_BODY_STATUSES and request.method != "HEAD"
    # The answer depends on whose session cookie came with the call.
    vary = headers.get("Vary", "")
    if not vary:
        headers["Vary"] = "Cookie"
    elif vary.strip() != "*" and "cookie" not in vary.lower():
        headers["Vary"] = f"{vary}, Cookie"
    response: HttpResponseBase
    if not has_body or (length.isdigit() and int(length) <= chunk_size):
        # A small answer (most API calls) is read whole: one write to the browser, no
        # chunked framing, and the connection goes back to the pool at once.
        data = read_whole(upstream_response, upstream=upstream.name)
        response = HttpResponse(data, status=status, content_type=content_type, headers=headers)
    else:
        response = StreamingHttpResponse(
            UpstreamBody(upstream_response, upstream=upstream.name, chunk_size=chunk_size),
            status=status,
            content_type=content_type,
            headers=headers,
        )
    if not has_body and status in _NO_BODY_STATUSES:
        del response["Content-Type"]
    for cookie in cookies:
        response.cookies.load(cookie)
    return response
