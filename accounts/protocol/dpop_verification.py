"""Checking a DPoP proof as a resource server receives it (RFC 9449 section 4.3), free of Django
and of I/O.

``check_proof`` makes every check of section 4.3 that needs only the request: one ``DPoP``
header holding a JWT, ``typ`` ``dpop+jwt``, an asymmetric algorithm the API accepts, a signature
that verifies with the public key in its own header (and no private key there), ``htm`` and
``htu`` naming this request, ``iat`` inside the window, the server's nonce when it asks for one,
and ``ath`` naming the access token. What needs more than the request stays with the caller:
that the token's ``cnf.jkt`` is the proof key's thumbprint (``bound_thumbprint``), once the token
itself is verified, and that the ``jti`` was not seen before (``replay_key``, ``replay_seconds``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from accounts.protocol.dpop import PROOF_TYPE, access_token_hash, comparable_uri
from accounts.protocol.signing_keys import SUPPORTED_ALGORITHMS, KeyUnusable, jwk_thumbprint
from accounts.protocol.times import numeric_date

# What this site signs with is what its resource-server helper accepts, unless told otherwise.
DEFAULT_ALGORITHMS = SUPPORTED_ALGORITHMS
# The key type (and curve) each algorithm signs with. HS* and "none" are absent on purpose: a
# shared secret proves nothing about holding a key, and "none" proves nothing at all.
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "EdDSA": ("OKP", None),
}
# JWK members that only a private (or symmetric) key has (RFC 7518 section 6).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_RSA_MINIMUM_BYTES = 256  # 2048 bits
# A proof is a few hundred bytes (an RSA-4096 key about 1.5 KB): anything far larger is not one.
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
# RFC 9449 section 8.1: nonce = 1*NQCHAR (%x21 / %x23-5B / %x5D-7E); a server's own is short.
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,512}")


class ProofRefused(ValueError):
    """The DPoP proof fails a check. The message says which, and never repeats the proof."""


class NonceRequired(ProofRefused):
    """The proof lacks the server's current nonce: answer ``use_dpop_nonce`` with a fresh one."""


@dataclass(frozen=True)
class CheckedProof:
    thumbprint: str  # of the proof's public key (RFC 7638): what the token's cnf.jkt must be
    jti: str
    iat: float


def accepted_algorithms(algorithms: Collection[str]) -> tuple[str, ...]:
    """``algorithms`` when every one is an asymmetric JWS algorithm; raises ``ValueError``."""
    unknown = [alg for alg in algorithms if alg not in _KEY_TYPES]
    if unknown or not algorithms:
        raise ValueError(
            f"DPoP proofs need asymmetric algorithms ({', '.join(_KEY_TYPES)}), not {unknown}"
        )
    return tuple(algorithms)


def check_proof(
    dpop_headers: Sequence[str],
    *,
    method: str,
    url: str,
    access_token: str | None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    now: float,
    iat_window: float = 60,
    nonce_accepted: Callable[[str], bool] | None = None,
) -> CheckedProof:
    """Check the proof sent for a request to ``url`` with ``method`` and ``access_token``.

    ``dpop_headers`` holds every ``DPoP`` header value as received (a server that joins repeated
    headers joins them with a comma, which no JWT holds). ``url`` is the URL the request was
    meant for, built by the caller from what it trusts (a configured public base URL behind a
    proxy). ``access_token`` is the token the request presents (None for a token request: no
    ``ath`` then). ``nonce_accepted``, when given, must accept the proof's ``nonce``. Raises
    ``ProofRefused`` (``NonceRequired`` for a missing or stale nonce).
    """
    if len(dpop_headers) != 1 or "," in dpop_headers[0]:
        raise ProofRefused("Send exactly one DPoP header.")
    proof = dpop_headers[0].strip()
    if len(proof) > MAX_PROOF_LENGTH or proof.count(".") != 2:
        raise ProofRefused("The DPoP proof is not a JWT.")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError as exc:
        raise ProofRefused("The DPoP proof is not a JWT.") from exc
    if str(header.get("typ", "")).lower() != PROOF_TYPE:
        raise ProofRefused("The DPoP proof's typ is not dpop+jwt.")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in _KEY_TYPES:
        raise ProofRefused(f"The DPoP proof's alg is not one of {' '.join(algorithms)}.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise ProofRefused("The DPoP proof's header has no jwk.")
    key = _public_key(jwk, alg)
    try:
        payload = jwt.PyJWS().decode(proof, key, algorithms=[alg])
        claims = json.loads(payload)
    except (jwt.PyJWTError, ValueError) as exc:
        raise ProofRefused("The DPoP proof's signature does not verify with its jwk.") from exc
    if not isinstance(claims, dict):
        raise ProofRefused("The DPoP proof's payload is not a JSON object.")
    required = ("jti", "htm", "htu", "iat") + (("ath",) if access_token is not None else ())
    for name in required:
        if name not in claims:
            raise ProofRefused(f"The DPoP proof has no {name}.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise ProofRefused("The DPoP proof's jti is not a short string.")
    if claims["htm"] != method:
        raise ProofRefused("The DPoP proof was made for another HTTP method (htm).")
    if not _same_uri(claims["htu"], url):
        raise ProofRefused("The DPoP proof was made for another URL (htu).")
    if nonce_accepted is not None:
        nonce = claims.get("nonce")
        # Only a nonce of the RFC's characters reaches the server's check: a comparison of
        # other strings (non-ASCII ones) raises, and no nonce a server hands out holds them.
        if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce) or not nonce_accepted(nonce):
            raise NonceRequired("The DPoP proof must carry this server's current nonce.")
    iat = numeric_date(claims["iat"])  # None for 10**400, NaN, a string...
    if iat is None:
        raise ProofRefused("The DPoP proof's iat is not a time.")
    if abs(now - iat) > iat_window:
        raise ProofRefused("The DPoP proof is too old, or made in the future (iat).")
    if access_token is not None and not _same_hash(claims["ath"], _token_hash(access_token)):
        raise ProofRefused("The DPoP proof was made for another access token (ath).")
    return CheckedProof(thumbprint=jwk_thumbprint(jwk), jti=jti, iat=iat)


def bound_thumbprint(claims: Mapping[str, Any]) -> str | None:
    """The DPoP key a verified access token is bound to: its ``cnf.jkt`` (RFC 9449 section 6)."""
    confirmation = claims.get("cnf")
    if not isinstance(confirmation, dict):
        return None
    jkt = confirmation.get("jkt")
    return jkt if isinstance(jkt, str) and jkt else None


def replay_key(proof: CheckedProof) -> str:
    """What a replay cache keeps for ``proof``: its ``jti`` per key, hashed, so the cache holds
    nothing a caller chose (length, characters) and one key's ``jti`` never blocks another's."""
    # surrogatepass: a JSON string may hold a lone surrogate ("\\ud800"), which is still a jti.
    key = f"{proof.thumbprint}.{proof.jti}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()


def replay_seconds(proof: CheckedProof, *, now: float, iat_window: float) -> int:
    """How long the ``jti`` must be remembered: until the proof's ``iat`` leaves the window."""
    return max(1, math.ceil(proof.iat + iat_window - now) + 1)


def _same_hash(claimed: Any, expected: str) -> bool:
    # compare_digest takes ASCII strings only: anything else is no base64url hash anyway.
    return isinstance(claimed, str) and claimed.isascii() and hmac.compare_digest(claimed, expected)


def _same_uri(htu: Any, url: str) -> bool:
    if not isinstance(htu, str):
        return False
    try:
        return comparable_uri(htu) == comparable_uri(url)
    except ValueError:
        return False


def _public_key(jwk: dict[str, Any], alg: str) -> Any:
    if _PRIVATE_MEMBERS & set(jwk):
        raise ProofRefused("The DPoP proof's jwk holds a private key.")
    kty, curve = _KEY_TYPES[alg]
    if jwk.get("kty") != kty or (curve is not None and jwk.get("crv") != curve):
        raise ProofRefused(f"The DPoP proof's jwk is not a key for {alg}.")
    if kty == "RSA" and len(_b64_decoded(jwk.get("n"))) < _RSA_MINIMUM_BYTES:
        raise ProofRefused("The DPoP proof's RSA key is shorter than 2048 bits.")
    try:
        jwk_thumbprint(jwk)
        return jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWKError, jwt.PyJWTError, KeyUnusable, ValueError, TypeError) as exc:
        raise ProofRefused(f"The DPoP proof's jwk is not a usable key for {alg}.") from exc


def _b64_decoded(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return b""


def _token_hash(access_token: str) -> str:
    try:
        return access_token_hash(access_token)
    except UnicodeEncodeError:
        # No access token holds anything but ASCII (RFC 6750 b64token); this one cannot match.
        return ""
