"""``/api/proxy/<upstream>/<path>``: forward a page's API call with the user's access token.

The order of the steps is the security argument: the upstream is looked up in the allow-list,
the method and the anti-forgery header are checked, the path is checked, and only then is the
login checked against the upstream's step-up requirement, a token fetched (which may call the
provider) and the upstream touched.
"""

from __future__ import annotations

import logging
from functools import partial

import urllib3
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.api import (
    AccessCredential,
    AccountsError,
    AuthenticationRequirement,
    check_authentication,
    get_access_credential,
)
from proxy.bodies import RequestBody, read_request_body
from proxy.conf import proxy_settings
from proxy.credentials import replace_credentials
from proxy.exceptions import ProxyError
from proxy.forwarding import UpstreamBody, read_whole, retry_for, send
from proxy.headers import upstream_request_headers
from proxy.metrics import UPSTREAM_SECONDS, count_call
from proxy.paths import raw_request_path
from proxy.responses import error_response
from proxy.retries import first_attempt
from proxy.steps import (
    browser_head,
    check_csrf_header,
    check_method,
    forwarded_target,
    route_prefix,
    wants_token,
)
from proxy.upstreams import Upstream, get_upstream

logger = logging.getLogger(__name__)


# Exempt from Django's CSRF token check only because ``check_csrf_header`` replaces it: every
# proxied call must carry a custom header, which a cross-site form, link or image cannot add and
# a cross-site script can only add after a CORS preflight this site never grants. Django's token
# check would also force every script to read and send the csrftoken cookie for nothing more.
@csrf_exempt
def proxy(request: HttpRequest, upstream: str, path: str = "") -> HttpResponseBase:
    try:
        response = _forward(request, get_upstream(upstream), path)
    except (ProxyError, AccountsError) as error:
        response = error_response(request, error)
    count_call(upstream, response.status_code)
    return response


def _forward(request: HttpRequest, upstream: Upstream, decoded_path: str) -> HttpResponseBase:
    method = request.method or "GET"
    check_method(upstream, method)
    name = proxy_settings.PROXY_CSRF_HEADER
    # Straight from the WSGI environ: request.headers would copy every header to find one.
    check_csrf_header(request.META.get("HTTP_" + name.upper().replace("-", "_")), name)
    environ = request.META
    prefix = route_prefix(request.path, decoded_path)
    target = forwarded_target(
        upstream,
        raw_request_path(environ, request.path),
        prefix,
        environ.get("QUERY_STRING", ""),
    )

    body = read_request_body(
        environ,
        limit=upstream.max_body_bytes,
        replay_limit=proxy_settings.PROXY_REPLAY_BODY_LIMIT,
        chunk_size=proxy_settings.PROXY_CHUNK_SIZE,
    )
    token = _token(request, upstream, force=False)
    attempt = first_attempt(upstream, token)
    headers = upstream_request_headers(
        environ,
        csrf_header=proxy_settings.PROXY_CSRF_HEADER,
        credentials=attempt.headers(upstream, method, target),
        forwarded_host=request.get_host(),
        forwarded_proto=request.scheme or "http",
    )
    check_login = partial(check_authentication, request)  # the token getter's own check
    response = _send(upstream, method, target, headers, body)
    while retry := retry_for(response, upstream, attempt, body.replayable, check_login):
        if retry.renew_token:
            logger.info("%s answered 401; renewing the access token once", upstream.name)
            token = _token(request, upstream, force=True, requirement=retry.requirement)
        else:
            logger.info("%s asked for a new DPoP nonce; sending once more", upstream.name)
        attempt = attempt.after(retry, token)
        replace_credentials(headers, attempt.headers(upstream, method, target))
        response = _send(upstream, method, target, headers, body)
    return _browser_response(request, response, upstream, target=target, proxy_base=prefix)


def _token(
    request: HttpRequest,
    upstream: Upstream,
    *,
    force: bool,
    requirement: AuthenticationRequirement | None = None,
) -> AccessCredential | None:
    """The token for ``upstream``, with its type, from a login that meets its requirement and
    ``requirement`` (an upstream's step-up challenge): ``StepUpRequired`` (or ``LoginRequired``)
    otherwise."""
    if requirement is not None:
        check_authentication(request, requirement)
    if not wants_token(upstream, authenticated=request.user.is_authenticated):
        return None
    if upstream.requirement:
        check_authentication(request, upstream.requirement)
    return get_access_credential(
        request, audience=upstream.audience, scope=upstream.scope, force=force
    )


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
    head = browser_head(
        upstream_response.status,
        upstream_response.headers.items(),
        method=request.method or "GET",
        upstream=upstream,
        target=target,
        proxy_base=proxy_base,
        forward_set_cookie=proxy_settings.PROXY_FORWARD_SET_COOKIE,
        chunk_size=proxy_settings.PROXY_CHUNK_SIZE,
    )
    headers = dict(head.headers)
    content_type = headers.pop("Content-Type", None)
    response: HttpResponseBase
    if head.read_whole:
        data = read_whole(upstream_response, upstream=upstream.name)
        response = HttpResponse(
            data, status=head.status, content_type=content_type, headers=headers
        )
    else:
        response = StreamingHttpResponse(
            UpstreamBody(
                upstream_response,
                upstream=upstream.name,
                chunk_size=proxy_settings.PROXY_CHUNK_SIZE,
            ),
            status=head.status,
            content_type=content_type,
            headers=headers,
        )
    if content_type is None:
        del response["Content-Type"]
    for cookie in head.cookies:
        response.cookies.load(cookie)
    return response
