"""The token endpoint's answer, checked once for every grant (RFC 6749 sections 5.1 and 5.2).

The code exchange and the refresh grant ask the same questions of an answer. What a failed check
means differs (a refused login, an ended session, a login that cannot be renewed right now), so
each caller turns these exceptions into its own.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests

from accounts.exceptions import ProviderUnavailable
from accounts.metrics import UNBOUND_TOKENS
from accounts.oidc.provider_http import json_object

logger = logging.getLogger(__name__)

# What each token may hold, so that it can go where it must. An access token goes in an
# Authorization header (and a DPoP proof hashes its ASCII): visible ASCII, no space, which would
# end the credentials (RFC 6749 A.12 allows VSCHAR, RFC 6750 section 2.1 narrows it further).
# A refresh token goes in a form body: VSCHAR (RFC 6749 A.17). An ID token is a compact JWS:
# base64url characters and dots. A provider that sends anything else is at fault, and a token that
# cannot be sent is refused here, where it enters, rather than failing every call that uses it.
_TOKEN_CHARACTERS = {
    "access_token": re.compile(r"[\x21-\x7e]+"),
    "refresh_token": re.compile(r"[\x20-\x7e]+"),
    "id_token": re.compile(r"[A-Za-z0-9_\-.=]+"),
}


def sendable_token(name: str, value: object) -> bool:
    """Whether ``value`` holds only what a token called ``name`` (``access_token``,
    ``refresh_token``, ``id_token``) may hold to go where it must."""
    return isinstance(value, str) and _TOKEN_CHARACTERS[name].fullmatch(value) is not None


class TokenEndpointRefused(Exception):
    """The provider answered with an OAuth error (RFC 6749 section 5.2).

    ``error`` is its code (``invalid_grant``, ``invalid_client``...), a protocol word that is
    safe to log and to show; the status code stands in when the body names none.
    """

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class MalformedTokenAnswer(ProviderUnavailable):
    """A success this site cannot use: a token missing or holding characters it may not, or a
    token type it did not ask for.

    A ``ProviderUnavailable``: the provider is at fault, and the user can only wait for it.
    """


def checked_token_answer(
    response: requests.Response,
    url: str,
    *,
    id_token_required: bool,
    token_type_required: bool,
    proof_sent: bool = False,
) -> dict[str, Any]:
    """The body of a usable answer; raises ``ProviderUnavailable`` (the provider failed or sent
    no JSON object), ``TokenEndpointRefused`` or ``MalformedTokenAnswer``.

    ``id_token_required``: the code exchange of an OpenID login must bring an ID token (OIDC Core
    3.1.3.3); a refresh may or may not (12.2). ``token_type_required``: RFC 6749 makes
    ``token_type`` required, and the code exchange insists on it; the refresh has always read a
    missing one as Bearer, and still does, so a provider that omits it there keeps working.
    ``proof_sent``: the request carried a DPoP proof, so a DPoP-bound token is what was asked for.
    """
    if response.status_code >= 500:
        raise ProviderUnavailable(f"The identity provider answered {response.status_code}.")
    body = json_object(response, url)
    if response.status_code != 200 or "error" in body:
        raise TokenEndpointRefused(str(body.get("error", response.status_code)))
    required = ("access_token", "id_token") if id_token_required else ("access_token",)
    for name in required:
        if not isinstance(body.get(name), str) or not body[name]:
            raise MalformedTokenAnswer(f"The identity provider's answer lacks {name}.")
    for name in _TOKEN_CHARACTERS:
        value = body.get(name)
        # A refresh token or an ID token a refresh leaves out is no token; one that is there
        # must be one (an empty refresh token is read as none, as before).
        if value is not None and value != "" and not sendable_token(name, value):
            raise MalformedTokenAnswer(f"The identity provider's answer has an unusable {name}.")
    token_type = body.get("token_type", "" if token_type_required else "bearer")
    # RFC 6749 section 5.1: the type is case-insensitive ("Bearer", "bearer", "BEARER").
    kind = str(token_type).lower()
    if kind == "bearer" and proof_sent:
        _note_unbound_tokens()
    elif kind != "bearer" and not (kind == "dpop" and proof_sent):
        raise MalformedTokenAnswer(
            "The identity provider issued a token type this site cannot use."
        )
    return body


_unbound_noted = False


def _note_unbound_tokens() -> None:
    """A provider that does not do DPoP (or not for this client) ignores the proof and issues
    Bearer tokens (RFC 9449 section 5). They work as before, only not sender-constrained;
    refusing them would lock everyone out over what is the provider's configuration. Counted
    every time (``bff_dpop_unbound_tokens_total``: a silent downgrade shows on a dashboard),
    said once per process, so that the log shows it without repeating it on every refresh."""
    global _unbound_noted
    UNBOUND_TOKENS.inc()
    if not _unbound_noted:
        _unbound_noted = True
        logger.warning(
            "OIDC_USE_DPOP is on but the provider issued Bearer tokens: they are not bound to "
            "this site's DPoP key; enable DPoP for this client at the provider"
        )
