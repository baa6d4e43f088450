"""Private keys for the client authentication and DPoP tests, as PEM (what the environment
holds), with the public key sets a provider would register."""

from __future__ import annotations

import functools
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.protocol.signing_keys import load_signing_keys


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@functools.cache
def rsa_pem(name: str = "client-1") -> str:
    """An RSA-2048 key, the same one for a ``name`` during a run (generating one takes time)."""
    return pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@functools.cache
def ec_pem(name: str = "dpop-1") -> str:
    return pem_of(ec.generate_private_key(ec.SECP256R1()))


def public_jwks(pem: str, algorithm: str = "RS256") -> dict[str, list[dict[str, str]]]:
    return {"keys": [dict(key.public_jwk) for key in load_signing_keys(pem, algorithm)]}


def public_jwks_json(pem: str, algorithm: str = "RS256") -> str:
    return json.dumps(public_jwks(pem, algorithm))


def thumbprint(pem: str, algorithm: str) -> str:
    return load_signing_keys(pem, algorithm)[0].kid
