"""How this client proves itself to the provider, in one place for every endpoint that asks:
the token endpoint (code exchange, refresh), pushed authorization requests and revocation.

``OIDC_CLIENT_AUTH_METHOD`` chooses: ``client_secret_basic`` (HTTP Basic, the default),
``client_secret_post`` (the secret in the form), or ``private_key_jwt`` (a signed assertion, no
shared secret at all: RFC 7523, OIDC Core section 9). An assertion is made afresh for every
request, retries included: providers remember its ``jti`` and refuse it a second time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from accounts.conf import accounts_settings
from accounts.oidc.client_keys import client_assertion_keys
from accounts.oidc.provider_http import provider_post_form
from accounts.protocol.client_assertion import assertion_form, client_assertion
from accounts.protocol.signing_keys import KeyUnusable

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


@dataclass(frozen=True)
class ClientAuthentication:
    """What goes with one request: HTTP Basic credentials, form fields, or both empty."""

    basic: tuple[str, str] | None = None
    form: Mapping[str, str] = field(default_factory=dict)


def client_authentication(endpoint: str) -> ClientAuthentication:
    """The client's credentials for one request to ``endpoint``.

    Raises ``KeyUnusable`` when private_key_jwt has no usable key, which the system checks
    (accounts.E024, E025) report at startup.
    """
    method = accounts_settings.OIDC_CLIENT_AUTH_METHOD
    client_id = accounts_settings.OIDC_CLIENT_ID
    if method == "private_key_jwt":
        keys = client_assertion_keys()
        if not keys:
            raise KeyUnusable("private_key_jwt needs OIDC_CLIENT_SIGNING_KEYS.")
        audience = (
            endpoint
            if accounts_settings.OIDC_CLIENT_ASSERTION_AUDIENCE == "endpoint"
            else accounts_settings.OIDC_ISSUER
        )
        assertion = client_assertion(
            keys[0], client_id=client_id, audience=audience, now=time.time()
        )
        return ClientAuthentication(form=assertion_form(assertion, client_id))
    secret = accounts_settings.OIDC_CLIENT_SECRET
    if method == "client_secret_post":
        return ClientAuthentication(form={"client_id": client_id, "client_secret": secret})
    # RFC 6749 section 2.3.1: client_secret_basic form-encodes id and secret before base64.
    return ClientAuthentication(basic=(quote(client_id, safe=""), quote(secret, safe="")))


def post_as_client(
    url: str,
    form: Mapping[str, str] | Sequence[tuple[str, str]],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
) -> requests.Response:
    """POST ``form`` to ``url`` with the client's credentials (``provider_post_form``'s errors).

    A name the credentials carry (``client_id``) replaces the same name in ``form``: providers
    refuse a parameter sent twice.
    """
    credentials = client_authentication(url)
    pairs = form.items() if isinstance(form, Mapping) else form
    data = [(name, value) for name, value in pairs if name not in credentials.form]
    data.extend(credentials.form.items())
    return provider_post_form(url, data, auth=credentials.basic, headers=headers, timeout=timeout)
