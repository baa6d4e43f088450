"""How the site talks to the provider's endpoints: client authentication, pushed authorization
requests and DPoP.

Keys are loaded here as a request would load them, so a key that cannot sign with its algorithm
stops the site at startup rather than the first login. Messages name the setting and the
problem, never the key.

IDs are listed in docs/configuration.md; never reuse one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Warning, register

from accounts.conf import accounts_settings
from accounts.oidc.client_auth import CLIENT_AUTH_METHODS
from accounts.protocol.client_assertion import ASSERTION_AUDIENCES
from accounts.protocol.pushed_authorization import PAR_SETTINGS
from accounts.protocol.signing_keys import SUPPORTED_ALGORITHMS, KeyUnusable, load_signing_keys

_KEY_HINT = (
    "Give PEM private keys (-----BEGIN PRIVATE KEY----- ...), unencrypted; several in one value "
    "for a rotation, the first signs. RS256 and PS256 need RSA keys of 2048 bits or more, "
    "ES256 a P-256 key. Supported algorithms: " + ", ".join(SUPPORTED_ALGORITHMS) + "."
)


@register()
def check_client_authentication(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    method = accounts_settings.OIDC_CLIENT_AUTH_METHOD
    if method not in CLIENT_AUTH_METHODS:
        errors.append(
            Error(
                f"OIDC_CLIENT_AUTH_METHOD {method!r} is not a known method.",
                hint=f"Use one of: {', '.join(CLIENT_AUTH_METHODS)}.",
                id="accounts.E023",
            )
        )
    pem = accounts_settings.OIDC_CLIENT_SIGNING_KEYS
    if method == "private_key_jwt" and not pem.strip():
        errors.append(
            Error(
                "OIDC_CLIENT_AUTH_METHOD is private_key_jwt but OIDC_CLIENT_SIGNING_KEYS is empty.",
                hint="Set OIDC_CLIENT_SIGNING_KEYS to the private key whose public half is "
                "registered at the provider (or published at /auth/jwks.json).",
                id="accounts.E024",
            )
        )
    errors.extend(
        _unusable_keys(
            "OIDC_CLIENT_SIGNING_KEYS",
            pem,
            "OIDC_CLIENT_SIGNING_ALGORITHM",
            accounts_settings.OIDC_CLIENT_SIGNING_ALGORITHM,
            "accounts.E025",
        )
    )
    audience = accounts_settings.OIDC_CLIENT_ASSERTION_AUDIENCE
    if audience not in ASSERTION_AUDIENCES:
        errors.append(
            Error(
                f"OIDC_CLIENT_ASSERTION_AUDIENCE {audience!r} is not a known choice.",
                hint="Use 'issuer' (most providers) or 'endpoint' (Okta, Entra), or leave it "
                "empty for the provider preset's choice.",
                id="accounts.E028",
            )
        )
    return errors


@register()
def check_pushed_authorization(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    setting = accounts_settings.OIDC_USE_PAR
    if setting in PAR_SETTINGS:
        return []
    return [
        Error(
            f"OIDC_USE_PAR {setting!r} is not one of {', '.join(PAR_SETTINGS)}.",
            hint="'auto' pushes when the provider offers it, 'always' refuses a login without "
            "it, 'never' sends the parameters through the browser (unless the provider "
            "requires PAR).",
            id="accounts.E022",
        )
    ]


@register()
def check_dpop(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    pem = accounts_settings.OIDC_DPOP_KEYS
    if accounts_settings.OIDC_USE_DPOP and not pem.strip():
        return [
            Error(
                "OIDC_USE_DPOP is on but OIDC_DPOP_KEYS is empty.",
                hint="Set OIDC_DPOP_KEYS to a private key of the site's own (ES256: a P-256 "
                "key); it is never registered anywhere, proofs carry its public half.",
                id="accounts.E026",
            )
        ]
    unusable = _unusable_keys(
        "OIDC_DPOP_KEYS",
        pem,
        "OIDC_DPOP_ALGORITHM",
        accounts_settings.OIDC_DPOP_ALGORITHM,
        "accounts.E027",
    )
    return unusable or _shared_keys(pem)


def _shared_keys(dpop_pem: str) -> list[CheckMessage]:
    """One key for both jobs: the proxy signs a DPoP proof on every call, naming a URL the
    caller picks, so the key that proves the site's identity to the provider would sign on
    anyone's demand; the tokens would be bound to that identity key; and the two could not be
    rotated apart. One key, one purpose."""
    client_pem = accounts_settings.OIDC_CLIENT_SIGNING_KEYS
    if not dpop_pem.strip() or not client_pem.strip():
        return []
    try:
        dpop = load_signing_keys(dpop_pem, accounts_settings.OIDC_DPOP_ALGORITHM)
        client = load_signing_keys(client_pem, accounts_settings.OIDC_CLIENT_SIGNING_ALGORITHM)
    except KeyUnusable:
        return []  # E025 or E027 says why
    # RFC 7638 thumbprints depend on the key alone: the same key under RS256 and PS256 matches.
    client_kids = {key.kid for key in client}
    shared = [position for position, key in enumerate(dpop, 1) if key.kid in client_kids]
    if not shared:
        return []
    return [
        Warning(
            f"OIDC_DPOP_KEYS shares its key number {', '.join(map(str, shared))} with "
            "OIDC_CLIENT_SIGNING_KEYS.",
            hint="Give DPoP a key of its own: the proxy signs a proof with it on every call, "
            "for URLs callers choose, which the key that authenticates the site to the "
            "provider should never do; and the two could not be rotated apart.",
            id="accounts.W023",
        )
    ]


def _unusable_keys(
    keys_name: str, pem: str, algorithm_name: str, algorithm: str, check_id: str
) -> list[CheckMessage]:
    if not pem.strip():
        return []
    try:
        load_signing_keys(pem, algorithm)
    except KeyUnusable as exc:
        # The message says which key and why (KeyUnusable never quotes the key itself).
        return [
            Error(
                f"{keys_name} cannot sign with {algorithm_name} {algorithm!r}: {exc}",
                hint=_KEY_HINT,
                id=check_id,
            )
        ]
    return []
