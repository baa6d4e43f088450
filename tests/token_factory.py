"""Mints ID tokens the way a provider (honest or hostile) would, for unit tests."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.test"
CLIENT_ID = "bff-test"
JWKS_URI = "https://issuer.test/jwks"


class SigningKey:
    def __init__(self, kid: str | None = "key-1") -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())
        )
        jwk.update({"use": "sig", "alg": "RS256"})
        if self.kid:
            jwk["kid"] = self.kid
        return jwk

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(
        self, claims: dict[str, Any], *, alg: str = "RS256", headers: dict[str, Any] | None = None
    ) -> str:
        hdr = dict(headers or {})
        if self.kid and "kid" not in hdr:
            hdr["kid"] = self.kid
        return jwt.encode(claims, self.private, algorithm=alg, headers=hdr)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": "n-0S6_WzA2Mj",
        "name": "Alice",
        "email": "alice@example.test",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}
