"""One request to the token endpoint, as the code exchange and the refresh grant send it:
client authentication, and with ``OIDC_USE_DPOP`` a DPoP proof (RFC 9449 section 5).

A provider may answer a proof with a nonce challenge (400 ``use_dpop_nonce`` and a
``DPoP-Nonce`` header, section 8): the request is then signed again with that nonce, once. The
challenge refuses the request before the grant is looked at, so the code or refresh token it
carried is unspent, and sending it again is no reuse. A provider that challenges the retry as
well gets its answer passed on as it is, an OAuth error, and the caller turns it into a refused
login or a renewal that must wait: never a loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from accounts.oidc.client_auth import post_as_client
from accounts.oidc.dpop_client import provider_nonces, token_binding_key
from accounts.protocol.dpop import NONCE_ERROR, NONCE_HEADER, nonce_to_retry_with, proof
from accounts.protocol.signing_keys import SigningKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenEndpointResponse:
    response: requests.Response
    # Whether the request carried a DPoP proof: only then may the answer be a DPoP token.
    proof_sent: bool


def post_to_token_endpoint(
    url: str,
    form: Mapping[str, str],
    *,
    timeout: tuple[float, float] | None = None,
    renewing: str | None = None,
) -> TokenEndpointResponse:
    """POST a grant to the token endpoint; ``ProviderUnavailable`` and ``ProviderTimedOut`` as
    ``provider_post_form`` raises them. ``renewing``: the access token a refresh replaces,
    whose DPoP key the refresh keeps."""
    key = token_binding_key(renewing)
    if key is None:
        return TokenEndpointResponse(post_as_client(url, form, timeout=timeout), proof_sent=False)
    sent_nonce = provider_nonces.latest(url)
    response = _post_with_proof(url, form, key, sent_nonce, timeout)
    nonce = nonce_to_retry_with(
        status=response.status_code,
        error=_error_code(response),
        nonce_header=response.headers.get(NONCE_HEADER),
        sent_nonce=sent_nonce,
    )
    if nonce is not None:
        response = _post_with_proof(url, form, key, nonce, timeout)
        if _error_code(response) == NONCE_ERROR:
            logger.warning("the provider asked for another DPoP nonce after the retry; giving up")
    return TokenEndpointResponse(response, proof_sent=True)


def _post_with_proof(
    url: str,
    form: Mapping[str, str],
    key: SigningKey,
    nonce: str | None,
    timeout: tuple[float, float] | None,
) -> requests.Response:
    header = proof(key, method="POST", url=url, now=time.time(), nonce=nonce)
    response = post_as_client(url, form, headers={"DPoP": header}, timeout=timeout)
    provider_nonces.note(url, response.headers.get(NONCE_HEADER))
    return response


def _error_code(response: requests.Response) -> str | None:
    if response.status_code != 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None
