"""The proxy's errors. Each knows its status and JSON code; ``proxy.responses`` turns any of them
(and the accounts errors a token request raises) into a response, in one place."""

from __future__ import annotations

from collections.abc import Iterable


class ProxyError(Exception):
    status = 500
    code = "proxy_error"
    title = "The request could not be forwarded"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.title)
        self.message = message or self.title


class UnknownUpstream(ProxyError):
    status = 404
    code = "unknown_upstream"
    title = "There is no such upstream"


class UnsafePath(ProxyError):
    """The path could leave the upstream's base path or be read differently upstream."""

    status = 400
    code = "unsafe_path"
    title = "The path is not allowed"


class CsrfHeaderMissing(ProxyError):
    status = 403
    code = "csrf_header_missing"
    title = "The request lacks the anti-forgery header"


class WebSocketNotAllowed(ProxyError):
    """A WebSocket handshake for an upstream without ``"websocket": true``."""

    status = 403
    code = "websocket_not_allowed"
    title = "This upstream does not accept WebSockets"


class ForeignOrigin(ProxyError):
    """A WebSocket handshake whose ``Origin`` is not this site's: browsers send cookies with a
    cross-site WebSocket and cannot add the anti-forgery header to one, so the origin is the
    check (cross-site WebSocket hijacking)."""

    status = 403
    code = "origin_not_allowed"
    title = "WebSockets through the proxy are only for this site's pages"


class MethodNotAllowed(ProxyError):
    status = 405
    code = "method_not_allowed"
    title = "This method is not allowed for this upstream"

    def __init__(self, message: str = "", *, allowed: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.allowed = tuple(sorted(allowed))


class BodyTooLarge(ProxyError):
    status = 413
    code = "body_too_large"
    title = "The request body is too large for this upstream"


class IncompleteBody(ProxyError):
    """The browser sent fewer bytes than it announced (it went away, usually), or a body the
    server could not parse (a malformed chunk)."""

    status = 400
    code = "incomplete_body"
    title = "The request body ended early"


class UnsupportedTransferCoding(ProxyError):
    """The body came with a transfer coding besides ``chunked`` (RFC 9112 §6.1: 501)."""

    status = 501
    code = "unsupported_transfer_coding"
    title = "The request body's transfer coding is not supported"


class UpstreamUnavailable(ProxyError):
    status = 502
    code = "upstream_unavailable"
    title = "The upstream could not be reached"


class UpstreamTimeout(ProxyError):
    status = 504
    code = "upstream_timeout"
    title = "The upstream did not answer in time"


class InvalidHost(ProxyError):
    """The request's ``Host`` is not in ``ALLOWED_HOSTS`` (Django's ``get_host()`` refused it):
    it would otherwise reach the upstream as ``X-Forwarded-Host``."""

    status = 400
    code = "invalid_host"
    title = "The request's Host is not this site's"


class UpstreamNonceLoop(ProxyError):
    """An upstream that takes DPoP asked for a new nonce again after the one retry with the
    nonce it gave (or gave none, or the same). Its raw 401 is not passed on: a page's script
    would take it for a logout."""

    status = 502
    code = "upstream_dpop_nonce_loop"
    title = "The upstream kept asking for a new DPoP nonce"


class UpstreamNonceUnmet(ProxyError):
    """An upstream asked for a DPoP nonce, but the request's body streamed and cannot be sent
    again. The nonce is remembered: sending the request again succeeds."""

    status = 503
    code = "upstream_dpop_nonce"
    title = "The upstream asked for a new DPoP nonce; send the request again"


class UpstreamRefusedProof(ProxyError):
    """An upstream refused this site's DPoP proof (``invalid_dpop_proof``): nothing the browser
    did, and nothing logging in again would change."""

    status = 502
    code = "upstream_refused_dpop_proof"
    title = "The upstream refused this site's DPoP proof"


class UpstreamStepUpUnmet(ProxyError):
    """An upstream's step-up challenge (RFC 9470) that the session's login already meets,
    repeated after the token was renewed for it (or the call could not be sent again). Sending
    the user to log in again would bring back the same login and the same challenge."""

    status = 403
    code = "upstream_step_up_unmet"
    title = "The API asks for a login level this session already has"


class UpstreamNeedsBoundToken(ProxyError):
    """An upstream with ``"dpop": true`` takes DPoP-bound tokens only, and the session's token is
    a bearer token (``OIDC_USE_DPOP`` off, or a provider that did not bind it). The call is not
    sent: the upstream would refuse the token, each refusal would renew it for another bearer
    token, and the page would get the upstream's 401 and take it for a logout."""

    status = 503
    code = "dpop_unavailable"
    title = "This site holds no DPoP-bound token for the upstream"
