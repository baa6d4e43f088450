"""The last step of building an authorization request: sender binding, then, when the provider
offers it, a pushed authorization request (RFC 9126).

The login view builds the front-channel URL as always (mozilla-django-oidc's parameters, the
site's own: scope, prompt, resource...) and hands it here. Whatever parameter that URL carries
goes into the push, so a parameter added to the login later is pushed without anyone
remembering to. When the provider pushes back a ``request_uri``, the browser gets only that
and the ``client_id``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from accounts.conf import accounts_settings
from accounts.exceptions import LoginFailed, ProviderBusy, ProviderUnavailable
from accounts.oidc.client_auth import post_as_client
from accounts.oidc.discovery import ProviderMetadata
from accounts.oidc.dpop_client import authorization_binding
from accounts.oidc.provider_http import json_object
from accounts.protocol.pushed_authorization import (
    PushAnswerUnusable,
    PushDeferred,
    PushRefused,
    PushTooLarge,
    authorization_parameters,
    front_channel_url,
    push_decision,
    request_uri_from,
)

logger = logging.getLogger(__name__)


def authorization_redirect(metadata: ProviderMetadata, authorization_url: str) -> str:
    """Where to send the browser for ``authorization_url``: the URL itself, or the provider's
    authorization endpoint with a ``request_uri`` after pushing its parameters.

    Raises ``LoginFailed`` when the provider refuses the push (an OAuth error: a 400 page),
    ``ProviderBusy`` when it asks to be tried later (429, 503: a 503 page), and
    ``ProviderUnavailable`` when it fails to take it, or when PAR is required and it has none.
    """
    binding = authorization_binding()
    if binding:
        authorization_url += "&" + urlencode(binding)
    setting = accounts_settings.OIDC_USE_PAR
    endpoint = metadata.pushed_authorization_request_endpoint
    decision = push_decision(
        setting, endpoint=endpoint, required=metadata.require_pushed_authorization_requests
    )
    if decision == "redirect":
        return authorization_url
    if decision == "unavailable" or endpoint is None:
        raise ProviderUnavailable(
            "The identity provider offers no pushed authorization requests, which this site "
            "is configured to use (OIDC_USE_PAR)."
        )
    if setting == "never":
        logger.warning("OIDC_USE_PAR is 'never' but the provider requires PAR; pushing anyway")
    request_uri = _push(endpoint, authorization_parameters(authorization_url))
    return front_channel_url(
        metadata.authorization_endpoint,
        client_id=accounts_settings.OIDC_CLIENT_ID,
        request_uri=request_uri,
    )


def _push(endpoint: str, parameters: list[tuple[str, str]]) -> str:
    response = post_as_client(endpoint, parameters)
    try:
        body: object = json_object(response, endpoint) if response.status_code < 500 else None
    except ProviderUnavailable:
        body = None
    try:
        return request_uri_from(response.status_code, body, response.headers.get("Retry-After"))
    except PushDeferred as exc:
        logger.warning("pushed authorization request deferred: the provider %s", exc)
        raise ProviderBusy(
            "The identity provider is busy and cannot take the login request now; "
            "try again in a moment.",
            retry_after=exc.retry_after,
        ) from exc
    except PushRefused as exc:
        # A protocol word (invalid_request, invalid_client...), safe to log and to show.
        logger.warning("pushed authorization request refused by the provider: %s", exc.error)
        raise LoginFailed(
            f"The identity provider refused the login request ({exc.error})."
        ) from exc
    except PushTooLarge as exc:
        logger.error(
            "pushed authorization request refused as too large (413): shorten what the login "
            "sends (OIDC_EXTRA_AUTH_PARAMS, OIDC_EXTRA_AUDIENCES, scopes)"
        )
        raise ProviderUnavailable(
            "The identity provider could not take this site's login request (too large). "
            "Trying again will not help: the site's operators must fix it."
        ) from exc
    except PushAnswerUnusable as exc:
        logger.warning("pushed authorization request failed: the provider %s", exc)
        raise ProviderUnavailable(
            "The identity provider could not take the login request; try again shortly."
        ) from exc
