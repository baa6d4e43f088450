"""Validating bearer access tokens in your own API (the resource server side).

The proxy sends the user's access token to your API; the API must still check it. The core
needs neither Django nor a configured project (the sample API in ``dev/sample_api`` is plain
WSGI): ``AccessTokenValidator`` (``validator``), its errors (``errors``), ``bearer_token``,
``presented_token`` and ``token_scopes`` (``bearer``); for DPoP-bound tokens ``DPoPPolicy``
(``dpop``), the replay caches (``replay``) and server nonces (``nonces``). For Django views there
is ``require_access_token``
(``decorators``, with ``validator_from_settings`` from ``conf``); for Django REST framework,
``accounts.resource_server.drf.AccessTokenAuthentication``.

Every name is importable from here. The Django ones are loaded on first use, so importing this
package never imports Django.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from accounts.resource_server.bearer import bearer_token, presented_token, token_scopes
from accounts.resource_server.dpop import DPoPPolicy, NonceSource
from accounts.resource_server.errors import (
    AccessTokenError,
    DPoPProofInvalid,
    InsufficientScope,
    KeyUnavailable,
    NotConfigured,
    ReplayCheckUnavailable,
    TokenMissing,
    UseDPoPNonce,
)
from accounts.resource_server.nonces import HmacNonces
from accounts.resource_server.replay import MemoryReplayCache, ReplayCache
from accounts.resource_server.validator import AccessTokenValidator

if TYPE_CHECKING:
    from accounts.resource_server.conf import validator_from_settings
    from accounts.resource_server.decorators import ViewFunc, require_access_token

__all__ = [
    "AccessTokenError",
    "AccessTokenValidator",
    "DPoPPolicy",
    "DPoPProofInvalid",
    "HmacNonces",
    "InsufficientScope",
    "KeyUnavailable",
    "MemoryReplayCache",
    "NonceSource",
    "NotConfigured",
    "ReplayCache",
    "ReplayCheckUnavailable",
    "TokenMissing",
    "UseDPoPNonce",
    "ViewFunc",
    "bearer_token",
    "presented_token",
    "require_access_token",
    "token_scopes",
    "validator_from_settings",
]

# Names whose modules import Django, and where they live.
_DJANGO_NAMES = {
    "validator_from_settings": "accounts.resource_server.conf",
    "require_access_token": "accounts.resource_server.decorators",
    "ViewFunc": "accounts.resource_server.decorators",
}


def __getattr__(name: str) -> Any:
    # PEP 562: called only for names not found above, so the core never pays for Django.
    if name in _DJANGO_NAMES:
        return getattr(importlib.import_module(_DJANGO_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
