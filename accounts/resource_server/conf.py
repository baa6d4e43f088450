"""The project's access-token validator, as its Django settings describe it.

``RESOURCE_SERVER_ISSUER`` (default ``OIDC_ISSUER``), ``RESOURCE_SERVER_AUDIENCE`` (default
``OIDC_AUDIENCE``) and ``RESOURCE_SERVER_ALGORITHMS`` (default ``("RS256",)``), read on every
access so ``override_settings`` works. A missing issuer or audience is a system check
(``accounts.E020``), and at run time a refusal (``NotConfigured``), never a 500.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from accounts.resource_server.errors import NotConfigured
from accounts.resource_server.validator import AccessTokenValidator

logger = logging.getLogger(__name__)

_validators: dict[tuple[str, str, tuple[str, ...]], AccessTokenValidator] = {}
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


resource_server_settings = ResourceServerSettings()


def validator_from_settings() -> AccessTokenValidator:
    """The validator for this project's settings. One per distinct value, so keys stay cached
    and ``override_settings`` still works. Raises ``NotConfigured`` (503) when the issuer or the
    audience is missing."""
    issuer = resource_server_settings.RESOURCE_SERVER_ISSUER
    audience = resource_server_settings.RESOURCE_SERVER_AUDIENCE
    algorithms = resource_server_settings.RESOURCE_SERVER_ALGORITHMS
    if not issuer or not audience:
        missing = "RESOURCE_SERVER_ISSUER" if not issuer else "RESOURCE_SERVER_AUDIENCE"
        logger.error("access tokens cannot be checked: %s is not set (accounts.E020)", missing)
        raise NotConfigured("This API cannot check access tokens yet.")
    key = (issuer, audience, algorithms)
    with _validators_lock:
        if key not in _validators:
            _validators[key] = AccessTokenValidator(
                issuer=issuer, audience=audience, algorithms=algorithms
            )
        return _validators[key]
