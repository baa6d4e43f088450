"""``GET /auth/jwks.json``: the public halves of the client assertion keys (RFC 7517), for
providers that fetch a client's keys from a ``jwks_uri`` instead of holding a copy.

Always a valid key set, empty when the site signs no assertions: a provider that fetches it
gets a document it can parse, and the address does not depend on the configuration. DPoP keys
are not listed: their public half travels in every proof, and no one needs to look them up.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from accounts.oidc.client_keys import published_key_set
from accounts.protocol.signing_keys import KeyUnusable

logger = logging.getLogger(__name__)

# Long enough to spare the site a provider that fetches on every assertion, short enough that a
# key added for a rotation is seen within minutes (add it here first, sign with it later).
MAX_AGE = 300


@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    try:
        key_set = published_key_set()
    except KeyUnusable as exc:  # accounts.E025 reports it at startup
        logger.error("OIDC_CLIENT_SIGNING_KEYS cannot be published: %s", exc)
        return JsonResponse({"error": "keys_unavailable"}, status=503)
    # application/json, not RFC 7517's application/jwk-set+json: what fetchers ask for in
    # their Accept header (oidc-provider, Keycloak) and what every one of them parses.
    response = JsonResponse(key_set)
    response["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response
