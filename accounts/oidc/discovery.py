"""Provider metadata from OpenID Connect Discovery, cached per process.

mozilla-django-oidc wants every endpoint configured by hand; here they come from
``{OIDC_ISSUER}/.well-known/openid-configuration``. The document's ``issuer`` must equal the
configured issuer exactly (Discovery 1.0 section 4.3): not even a trailing slash may differ, or a
token from a look-alike issuer could pass.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from accounts.conf import accounts_settings
from accounts.exceptions import ProviderUnavailable
from accounts.oidc.provider_http import provider_get_json
from accounts.protocol.discovery import authorization_server_metadata_url, discovery_url


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None
    revocation_endpoint: str | None = None
    # RFC 9207: when true, the callback must carry ``iss`` equal to the issuer.
    authorization_response_iss_parameter_supported: bool = False
    # RFC 9126: where a login pushes its parameters, and whether the provider insists on it.
    pushed_authorization_request_endpoint: str | None = None
    require_pushed_authorization_requests: bool = False


logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cached: tuple[str, float, ProviderMetadata] | None = None


def provider_metadata(*, fresh: bool = False) -> ProviderMetadata:
    """The provider's metadata, fetched at most once per ``OIDC_DISCOVERY_TTL`` per process.

    ``fresh=True`` fetches it now: a login starts with it, so a provider that is down gets a
    clear page here instead of a browser stranded on an address that does not answer.
    """
    global _cached
    issuer = accounts_settings.OIDC_ISSUER
    now = time.monotonic()
    with _lock:
        if not fresh and _cached and _cached[0] == issuer and _cached[1] > now:
            return _cached[2]
    metadata = _fetch(issuer)
    with _lock:
        _cached = (issuer, now + accounts_settings.OIDC_DISCOVERY_TTL, metadata)
    return metadata


def forget_provider_metadata() -> None:
    global _cached
    with _lock:
        _cached = None


def _fetch(issuer: str) -> ProviderMetadata:
    document = provider_get_json(discovery_url(issuer))
    if document.get("issuer") != issuer:
        # A misconfiguration, not an outage; but the site cannot log anyone in either way.
        raise ProviderUnavailable(
            f"The provider's discovery document names issuer {document.get('issuer')!r}, "
            f"not the configured OIDC_ISSUER {issuer!r}."
        )
    required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [name for name in required if not isinstance(document.get(name), str)]
    if missing:
        raise ProviderUnavailable(f"The provider's discovery document lacks {', '.join(missing)}.")

    if not _url(document, "revocation_endpoint"):
        # Some providers (django-oauth-toolkit) publish the revocation endpoint only in their
        # RFC 8414 metadata: read it from there, under the same issuer rule.
        document = {**_oauth_metadata(issuer), **document}

    def optional(name: str) -> str | None:
        return _url(document, name)

    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        end_session_endpoint=optional("end_session_endpoint"),
        revocation_endpoint=optional("revocation_endpoint"),
        authorization_response_iss_parameter_supported=(
            document.get("authorization_response_iss_parameter_supported") is True
        ),
        pushed_authorization_request_endpoint=optional("pushed_authorization_request_endpoint"),
        require_pushed_authorization_requests=(
            document.get("require_pushed_authorization_requests") is True
        ),
    )


# Endpoints this site may take from RFC 8414 metadata when the OpenID configuration lacks them.
_OAUTH_ENDPOINTS = ("revocation_endpoint",)


def _oauth_metadata(issuer: str) -> dict[str, str]:
    """The endpoints of ``_OAUTH_ENDPOINTS`` in the issuer's RFC 8414 metadata; empty when it
    publishes none, or names another issuer (section 3.3), or cannot be had: its absence only
    means less, never a failed login."""
    try:
        document = provider_get_json(authorization_server_metadata_url(issuer))
    except ProviderUnavailable:
        return {}
    if document.get("issuer") != issuer:
        logger.warning("RFC 8414 metadata names another issuer; not used")
        return {}
    return {name: value for name in _OAUTH_ENDPOINTS if (value := _url(document, name))}


def _url(document: dict[str, object], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) and value else None
