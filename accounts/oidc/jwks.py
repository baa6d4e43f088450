"""The provider's signing keys, cached per process and refetched on an unknown ``kid``.

Providers rotate keys by publishing the new one before signing with it, so a token whose ``kid``
we have not seen usually means our copy is old: fetch again, but at most once per
``OIDC_JWKS_MIN_REFETCH_INTERVAL``, so forged ``kid`` values cannot make us hammer the provider.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt

from accounts.conf import accounts_settings
from accounts.exceptions import InvalidIDToken, ProviderUnavailable
from accounts.oidc.provider_http import provider_get_json
from accounts.protocol.key_selection import select_signing_key

logger = logging.getLogger(__name__)


class KeySetCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uri: str | None = None
        self._keys: list[dict[str, Any]] = []
        self._fetched_at = float("-inf")

    def clear(self) -> None:
        with self._lock:
            self._uri, self._keys, self._fetched_at = None, [], float("-inf")

    def signing_key(self, jwks_uri: str, kid: str | None, alg: str) -> jwt.PyJWK:
        keys = self._keys_for(jwks_uri, force=False)
        key = select_signing_key(keys, kid, alg)
        if key is None and self._may_refetch():
            logger.info("unknown signing key id %r: refetching the key set", kid)
            key = select_signing_key(self._keys_for(jwks_uri, force=True), kid, alg)
        if key is None:
            raise InvalidIDToken("The token is signed with a key the provider does not publish.")
        try:
            return jwt.PyJWK(key, algorithm=alg)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            # A published key with missing or malformed members: the provider's mistake, and
            # a reason to refuse the token, never a 500.
            raise InvalidIDToken("The provider's signing key is unusable.") from exc

    def _may_refetch(self) -> bool:
        interval = accounts_settings.OIDC_JWKS_MIN_REFETCH_INTERVAL
        return time.monotonic() - self._fetched_at >= interval

    def _keys_for(self, jwks_uri: str, *, force: bool) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            fresh = now - self._fetched_at < accounts_settings.OIDC_JWKS_TTL
            if self._uri == jwks_uri and fresh and not force:
                return self._keys
        document = provider_get_json(jwks_uri)
        published = document.get("keys")
        if not isinstance(published, list):
            raise ProviderUnavailable("The provider's key set has no list of keys.")
        keys = [k for k in published if isinstance(k, dict)]
        with self._lock:
            self._uri, self._keys, self._fetched_at = jwks_uri, keys, time.monotonic()
        return keys


signing_keys = KeySetCache()
