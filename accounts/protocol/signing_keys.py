"""Private keys this site signs with: client assertions (RFC 7523) and DPoP proofs (RFC 9449).

Keys arrive as PEM text from the environment, several in one value for rotation: the first signs,
and every one is published, so a provider that fetched the key set before a rotation still knows
the key that signs after it. Each key is checked against the algorithm chosen for it here, once,
so a wrong key is a clear configuration error at startup and not a refused login at 3 a.m.

Free of Django and of I/O.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

# RS256 and PS256 are what FAPI 2.0 and every provider accept; ES256 is DPoP's common choice.
# Symmetric and "none" algorithms have no place in a signature a provider verifies with a
# published key.
SUPPORTED_ALGORITHMS = ("RS256", "PS256", "ES256")
RSA_MINIMUM_BITS = 2048

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_PEM_BLOCK = re.compile(
    r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----.+?-----END (?:RSA |EC )?PRIVATE KEY-----",
    re.DOTALL,
)


class KeyUnusable(ValueError):
    """The configured text holds no key, or a key that cannot sign with the chosen algorithm.

    The message names the problem and never the key.
    """


@dataclass(frozen=True)
class SigningKey:
    private_key: PrivateKey = field(repr=False)
    algorithm: str
    public_jwk: Mapping[str, str]

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        headers: Mapping[str, Any] | None = None,
        with_kid: bool = True,
    ) -> str:
        """A compact JWS of ``claims``; ``headers`` adds to ``alg`` (and ``kid``, ``with_kid``)."""
        header = {"kid": self.kid} if with_kid else {}
        header |= headers or {}
        return jwt.encode(dict(claims), self.private_key, algorithm=self.algorithm, headers=header)


def load_signing_keys(pem_text: str, algorithm: str) -> tuple[SigningKey, ...]:
    """Every private key in ``pem_text``, in order, checked for ``algorithm``.

    ``\\n`` escapes are read as line breaks: many deployment tools cannot put a multi-line value
    into an environment variable. Raises ``KeyUnusable``.
    """
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise KeyUnusable(
            f"{algorithm!r} is not a supported signing algorithm "
            f"(choose one of {', '.join(SUPPORTED_ALGORITHMS)})."
        )
    blocks = _PEM_BLOCK.findall(pem_text.replace("\\n", "\n"))
    if not blocks:
        raise KeyUnusable("No PEM private key found (expected -----BEGIN PRIVATE KEY----- ...).")
    keys = []
    for position, block in enumerate(blocks, start=1):
        try:
            private_key = serialization.load_pem_private_key(block.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyUnusable(f"Key {position} is not a readable unencrypted PEM key.") from exc
        keys.append(signing_key(private_key, algorithm, position=position))
    return tuple(keys)


def signing_key(private_key: object, algorithm: str, *, position: int = 1) -> SigningKey:
    """``private_key`` as a ``SigningKey`` for ``algorithm``; raises ``KeyUnusable``."""
    if algorithm in ("RS256", "PS256"):
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise KeyUnusable(f"Key {position} is not an RSA key, which {algorithm} needs.")
        if private_key.key_size < RSA_MINIMUM_BITS:
            raise KeyUnusable(
                f"Key {position} has {private_key.key_size} bits; "
                f"{algorithm} needs at least {RSA_MINIMUM_BITS}."
            )
    elif algorithm == "ES256":
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise KeyUnusable(f"Key {position} is not a P-256 EC key, which ES256 needs.")
    else:
        raise KeyUnusable(f"{algorithm!r} is not a supported signing algorithm.")
    jwk = public_jwk(private_key)
    jwk |= {"kid": jwk_thumbprint(jwk), "alg": algorithm, "use": "sig"}
    return SigningKey(private_key=private_key, algorithm=algorithm, public_jwk=jwk)


def public_jwk(private_key: PrivateKey) -> dict[str, str]:
    """The public half as a JWK with only its required members (RFC 7517, RFC 7518 section 6)."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        numbers = private_key.public_key().public_numbers()
        return {"kty": "RSA", "e": _uint(numbers.e), "n": _uint(numbers.n)}
    point = private_key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _uint(point.x, 32), "y": _uint(point.y, 32)}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace; base64url.

    The ``kid`` of our keys and DPoP's ``jkt`` (RFC 9449 section 6) are both this value.
    """
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    members = required.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(name), str) for name in members):
        raise KeyUnusable("The key is not a public RSA, EC or OKP JWK.")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int, length: int | None = None) -> str:
    size = length or max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(size, "big"))
