"""How an API takes DPoP-bound access tokens (RFC 9449 section 7): ``DPoPPolicy`` says whether
plain bearer tokens are still accepted, which proof algorithms, how fresh a proof must be, where
used proofs are remembered, and whether the server hands out nonces. ``check_proof_for`` and
``remember_proof`` apply it to one request (the checks themselves are
``accounts.protocol.dpop_verification``). Free of Django."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from accounts.protocol.dpop_verification import (
    DEFAULT_ALGORITHMS,
    CheckedProof,
    NonceRequired,
    ProofRefused,
    accepted_algorithms,
    check_proof,
    replay_key,
    replay_seconds,
)
from accounts.resource_server.errors import DPoPProofInvalid, UseDPoPNonce
from accounts.resource_server.replay import MemoryReplayCache, ReplayCache


class NonceSource(Protocol):
    """Server nonces (RFC 9449 section 9), e.g. ``accounts.resource_server.nonces.HmacNonces``."""

    def current(self) -> str: ...

    def accepts(self, nonce: str) -> bool: ...


@dataclass(frozen=True)
class DPoPPolicy:
    """``required``: refuse plain bearer tokens too (a DPoP-bound token presented as a bearer
    token is always refused). ``iat_window``: seconds a proof's ``iat`` may be off from now,
    either way; its ``jti`` is remembered that long. ``replay_cache``: shared by every process
    of the API (the default is this process's memory). ``nonces``: when set, every proof must
    carry a nonce it accepts."""

    required: bool = False
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    iat_window: float = 60
    replay_cache: ReplayCache = field(default_factory=MemoryReplayCache)
    nonces: NonceSource | None = None

    def __post_init__(self) -> None:
        accepted_algorithms(self.algorithms)
        if not self.iat_window > 0:
            raise ValueError("iat_window must be a positive number of seconds")


def check_proof_for(
    policy: DPoPPolicy, token: str, dpop_headers: Sequence[str], *, method: str, url: str
) -> CheckedProof:
    """The request's proof, checked for ``token``; raises ``DPoPProofInvalid`` or
    ``UseDPoPNonce`` (with a fresh nonce)."""
    try:
        return check_proof(
            dpop_headers,
            method=method,
            url=url,
            access_token=token,
            algorithms=policy.algorithms,
            now=time.time(),
            iat_window=policy.iat_window,
            nonce_accepted=policy.nonces.accepts if policy.nonces else None,
        )
    except NonceRequired as refused:
        assert policy.nonces is not None
        raise UseDPoPNonce(str(refused), nonce=policy.nonces.current()) from refused
    except ProofRefused as refused:
        raise DPoPProofInvalid(str(refused)) from refused


def remember_proof(policy: DPoPPolicy, proof: CheckedProof) -> None:
    """Refuse a proof seen before; remember this one as long as it could be accepted."""
    seconds = replay_seconds(proof, now=time.time(), iat_window=policy.iat_window)
    if not policy.replay_cache.first_use(replay_key(proof), seconds):
        raise DPoPProofInvalid("The DPoP proof was used before.")
