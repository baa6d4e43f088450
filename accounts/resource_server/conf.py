"""The project's access-token validator, as its Django settings describe it.

``RESOURCE_SERVER_ISSUER`` (default ``OIDC_ISSUER``), ``RESOURCE_SERVER_AUDIENCE`` (default
``OIDC_AUDIENCE``), ``RESOURCE_SERVER_ALGORITHMS`` (default ``("RS256",)``) and the
``RESOURCE_SERVER_DPOP_*`` settings, read on every access so ``override_settings`` works. A
missing issuer or audience is a system check (``accounts.E020``), and at run time a refusal
(``NotConfigured``), never a 500.

DPoP proofs' ``jti`` are remembered in a Django cache (``RESOURCE_SERVER_DPOP_REPLAY_CACHE``,
the project's Redis by default: ``add`` is ``SET NX`` with an expiry there), so every worker and
host of the API refuses a proof any of them has seen.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

from accounts.protocol.dpop_verification import DEFAULT_ALGORITHMS
from accounts.resource_server.dpop import DPoPPolicy
from accounts.resource_server.errors import NotConfigured, ReplayCheckUnavailable
from accounts.resource_server.validator import AccessTokenValidator

logger = logging.getLogger(__name__)

_validators: dict[tuple[Any, ...], AccessTokenValidator] = {}
_validators_lock = threading.Lock()


class ResourceServerSettings:
    @property
    def RESOURCE_SERVER_ISSUER(self) -> str:
        return str(
            getattr(settings, "RESOURCE_SERVER_ISSUER", "") or getattr(settings, "OIDC_ISSUER", "")
        )

    @property
    def RESOURCE_SERVER_AUDIENCE(self) -> str:
        # The login's own API by default: the proxy sends the tokens the login obtained.
        return str(
            getattr(settings, "RESOURCE_SERVER_AUDIENCE", "")
            or getattr(settings, "OIDC_AUDIENCE", "")
        )

    @property
    def RESOURCE_SERVER_ALGORITHMS(self) -> tuple[str, ...]:
        return tuple(getattr(settings, "RESOURCE_SERVER_ALGORITHMS", ("RS256",)))

    @property
    def RESOURCE_SERVER_DPOP_REQUIRED(self) -> bool:
        """Off: DPoP-bound tokens need their proof, plain bearer tokens still pass."""
        return bool(getattr(settings, "RESOURCE_SERVER_DPOP_REQUIRED", False))

    @property
    def RESOURCE_SERVER_DPOP_ALGORITHMS(self) -> tuple[str, ...]:
        return tuple(getattr(settings, "RESOURCE_SERVER_DPOP_ALGORITHMS", DEFAULT_ALGORITHMS))

    @property
    def RESOURCE_SERVER_DPOP_IAT_WINDOW(self) -> float:
        """Seconds a proof's ``iat`` may be off from now, either way (RFC 9449 section 11.1)."""
        return float(getattr(settings, "RESOURCE_SERVER_DPOP_IAT_WINDOW", 60))

    @property
    def RESOURCE_SERVER_DPOP_REPLAY_CACHE(self) -> str:
        return str(getattr(settings, "RESOURCE_SERVER_DPOP_REPLAY_CACHE", "default"))

    @property
    def RESOURCE_SERVER_BASE_URL(self) -> str:
        """The API's public origin (``https://api.example.com``), for a proof's ``htu``. Empty:
        the request's own, which behind a proxy is only right with ``USE_X_FORWARDED_HOST`` and
        ``SECURE_PROXY_SSL_HEADER`` set for it."""
        return str(getattr(settings, "RESOURCE_SERVER_BASE_URL", "") or "").rstrip("/")


resource_server_settings = ResourceServerSettings()


class CacheReplayCache:
    """A replay cache in the Django cache ``alias``: ``add`` stores only a new key."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def first_use(self, key: str, seconds: int) -> bool:
        try:
            return bool(caches[self.alias].add(f"dpop-jti:{key}", 1, timeout=seconds))
        except Exception as exc:
            # Whatever the backend raises (django-redis' ConnectionInterrupted, a socket error):
            # a proof that cannot be known to be new is refused, as a 503, never a 500.
            logger.warning("the DPoP replay cache %r did not answer: %r", self.alias, exc)
            raise ReplayCheckUnavailable("Proofs cannot be checked for replay right now.") from exc


def validator_from_settings() -> AccessTokenValidator:
    """The validator for this project's settings. One per distinct value, so keys stay cached
    and ``override_settings`` still works. Raises ``NotConfigured`` (503) when the issuer or the
    audience is missing, or a DPoP setting is unusable (``accounts.E040``-``E042`` say which)."""
    conf = resource_server_settings
    issuer = conf.RESOURCE_SERVER_ISSUER
    audience = conf.RESOURCE_SERVER_AUDIENCE
    algorithms = conf.RESOURCE_SERVER_ALGORITHMS
    if not issuer or not audience:
        missing = "RESOURCE_SERVER_ISSUER" if not issuer else "RESOURCE_SERVER_AUDIENCE"
        logger.error("access tokens cannot be checked: %s is not set (accounts.E020)", missing)
        raise NotConfigured("This API cannot check access tokens yet.")
    try:
        dpop = (
            conf.RESOURCE_SERVER_DPOP_REQUIRED,
            conf.RESOURCE_SERVER_DPOP_ALGORITHMS,
            conf.RESOURCE_SERVER_DPOP_IAT_WINDOW,
            conf.RESOURCE_SERVER_DPOP_REPLAY_CACHE,
        )
        key = (issuer, audience, algorithms, dpop)
        with _validators_lock:
            if key not in _validators:
                policy = DPoPPolicy(
                    required=dpop[0],
                    algorithms=dpop[1],
                    iat_window=dpop[2],
                    replay_cache=CacheReplayCache(dpop[3]),
                )
                _validators[key] = AccessTokenValidator(
                    issuer=issuer, audience=audience, algorithms=algorithms, dpop=policy
                )
            return _validators[key]
    except (TypeError, ValueError) as exc:
        logger.error("DPoP proofs cannot be checked: %s (accounts.E040)", exc)
        raise NotConfigured("This API cannot check access tokens yet.") from exc


def request_url(request: HttpRequest) -> str:
    """The URL ``request`` was made for, as a DPoP proof's ``htu`` must name it."""
    base = resource_server_settings.RESOURCE_SERVER_BASE_URL
    path = wire_path(request)
    if base:
        return base + path
    return request.build_absolute_uri(path)


def wire_path(request: HttpRequest) -> str:
    """``request.path`` as the client wrote it, percent-escapes and all: a client's ``htu`` names
    that, and the decoded path differs from it in every escaped character (a non-ASCII one, an
    escaped slash). The server's own copy (gunicorn's ``RAW_URI``, uWSGI's ``REQUEST_URI``, an
    ASGI scope's ``raw_path``) when it is the same path, else the decoded path escaped again,
    as behind a proxy that mounts the API under another prefix."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    scope = getattr(request, "scope", None)
    if not raw and isinstance(scope, dict) and isinstance(scope.get("raw_path"), bytes):
        raw = scope["raw_path"].decode("latin-1")
    if isinstance(raw, str) and raw:
        raw = urlsplit(raw).path if not raw.startswith("/") else raw.split("?", 1)[0]
        if unquote(raw) == request.path:
            return raw
    return escape_uri_path(request.path)


def dpop_headers(request: HttpRequest) -> list[str]:
    """The request's ``DPoP`` header, as a list (repeated headers arrive joined by a comma)."""
    value = request.META.get("HTTP_DPOP")
    return [] if value is None else [value]
