"""The project's access-token validator, as its Django settings describe it."""

from __future__ import annotations

import threading

from django.conf import settings

from accounts.resource_server.validator import AccessTokenValidator

_validators: dict[tuple[str, str, tuple[str, ...]], AccessTokenValidator] = {}
_validators_lock = threading.Lock()


def validator_from_settings() -> AccessTokenValidator:
    """The validator for this project's settings: ``RESOURCE_SERVER_ISSUER`` (default
    ``OIDC_ISSUER``), ``RESOURCE_SERVER_AUDIENCE`` (default ``OIDC_AUDIENCE``) and
    ``RESOURCE_SERVER_ALGORITHMS`` (default ``("RS256",)``). One per distinct value, so keys stay
    cached and ``override_settings`` still works."""
    issuer = str(getattr(settings, "RESOURCE_SERVER_ISSUER", "") or settings.OIDC_ISSUER)
    audience = str(
        getattr(settings, "RESOURCE_SERVER_AUDIENCE", "") or getattr(settings, "OIDC_AUDIENCE", "")
    )
    algorithms = tuple(getattr(settings, "RESOURCE_SERVER_ALGORITHMS", ("RS256",)))
    key = (issuer, audience, algorithms)
    with _validators_lock:
        if key not in _validators:
            _validators[key] = AccessTokenValidator(
                issuer=issuer, audience=audience, algorithms=algorithms
            )
        return _validators[key]
