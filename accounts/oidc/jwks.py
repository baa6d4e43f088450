"""The provider's signing keys, for the ID and logout tokens it signs.

The caching and the rate-limited refetch on an unknown ``kid`` are ``accounts.protocol.key_sets``;
this shell adds what is the provider's: its ``jwks_uri`` from discovery, the
``OIDC_JWKS_TTL`` and ``OIDC_JWKS_MIN_REFETCH_INTERVAL`` settings, the provider's HTTP client,
and this app's errors (``ProviderUnavailable`` when no keys can be had, ``InvalidIDToken`` when
the token's key is not among them).
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import jwt

from accounts.conf import accounts_settings
from accounts.exceptions import InvalidIDToken, ProviderUnavailable
from accounts.oidc.provider_http import provider_get_json
from accounts.protocol.key_sets import KeySetCache


class ProviderKeys:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uri: str | None = None
        self._cache: KeySetCache | None = None

    def clear(self) -> None:
        with self._lock:
            self._uri, self._cache = None, None

    def signing_key(self, jwks_uri: str, kid: str | None, alg: str) -> jwt.PyJWK:
        key = self._cache_for(jwks_uri).signing_key(kid, alg)
        if key is None:
            raise InvalidIDToken("The token is signed with a key the provider does not publish.")
        try:
            return jwt.PyJWK(key, algorithm=alg)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            # A published key with missing or malformed members: the provider's mistake, and
            # a reason to refuse the token, never a 500.
            raise InvalidIDToken("The provider's signing key is unusable.") from exc

    def _cache_for(self, jwks_uri: str) -> KeySetCache:
        with self._lock:
            if self._cache is None or self._uri != jwks_uri:
                # Another address (another issuer, or discovery moved it): the keys we hold are
                # not the ones published there.
                self._uri = jwks_uri
                self._cache = KeySetCache(
                    partial(_fetch_keys, jwks_uri),
                    ttl=lambda: accounts_settings.OIDC_JWKS_TTL,
                    min_refetch_interval=lambda: accounts_settings.OIDC_JWKS_MIN_REFETCH_INTERVAL,
                    unavailable=(ProviderUnavailable,),
                )
            return self._cache


def _fetch_keys(jwks_uri: str) -> list[dict[str, Any]]:
    published = provider_get_json(jwks_uri).get("keys")
    if not isinstance(published, list):
        raise ProviderUnavailable("The provider's key set has no list of keys.")
    return [k for k in published if isinstance(k, dict)]


signing_keys = ProviderKeys()
