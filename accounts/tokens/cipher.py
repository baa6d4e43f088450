"""Encryption of the token record at rest, with keys that rotate without logging anyone out.

``TOKEN_ENCRYPTION_KEYS`` holds Fernet keys: the first encrypts, all decrypt (MultiFernet). To
rotate, put a new key first and keep the old one after it until every session has been rewritten
or has expired. A Redis dump or replica then shows no token in clear.

Without keys, DEBUG runs derive one from ``SECRET_KEY`` (HKDF), so ``./dev/up`` needs no extra
setup; production refuses to start without them (check ``accounts.E011``).
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from accounts.exceptions import TokenRecordUnreadable


def encrypt_record(data: dict[str, Any]) -> str:
    return _cipher(_keys()).encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def decrypt_record(blob: str) -> dict[str, Any]:
    try:
        data = json.loads(_cipher(_keys()).decrypt(blob.encode()))
    except (InvalidToken, ValueError, TypeError) as exc:
        raise TokenRecordUnreadable("The stored tokens cannot be read.") from exc
    if not isinstance(data, dict):
        raise TokenRecordUnreadable("The stored tokens cannot be read.")
    return data


def derived_development_key(secret_key: str) -> str:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"oidc-bff token record")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())).decode()


def _keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "TOKEN_ENCRYPTION_KEYS", ()))
    return keys or (derived_development_key(settings.SECRET_KEY),)


@functools.lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])
