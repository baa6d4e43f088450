"""After an upstream's answer: hand it to the browser, or send the call once more. Pure rules
both shells follow (``proxy.views``, ``proxy.asgi_http``, ``proxy.websockets``), and the DPoP
proof each attempt carries.

- A 401 whose challenge, in the scheme the token went with (``Bearer``, or ``DPoP`` for an
  upstream with ``"dpop": true``), says the token is bad: the token is renewed once and the call
  sent again (``proxy.challenges``).
- From a DPoP upstream, a 401 ``use_dpop_nonce`` with a new ``DPoP-Nonce`` (RFC 9449 §9): the
  call is signed again with that nonce and sent once more. Asked again, or for the nonce just
  sent, the upstream is looping: **502** ``upstream_dpop_nonce_loop``, never its raw 401, which a
  page's script would take for a logout. A 401 ``invalid_dpop_proof`` refused this site's proof:
  **502** ``upstream_refused_dpop_proof``.
- An RFC 9470 step-up challenge (``proxy.step_up``): the token is renewed for what it asks,
  which steps the user up instead when the session's login falls short, and the call is sent
  once more; challenged again: **403** ``upstream_step_up_unmet``.

Each kind of retry happens at most once, and only when the body can be sent again, so a call
goes out four times at most. Each upstream's latest nonce (from any answer) is remembered per
process and origin, so the next call carries it and costs no challenge.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from accounts.api import AuthenticationRequirement, dpop_proof, nonce_to_retry_with, usable_nonce
from proxy.challenges import challenge_errors
from proxy.exceptions import UpstreamNonceLoop, UpstreamNonceUnmet, UpstreamRefusedProof
from proxy.headers import credential_headers
from proxy.step_up import challenged_requirement, step_up_resend
from proxy.upstreams import Upstream

NONCE_CHALLENGE = "use_dpop_nonce"
PROOF_REFUSED = "invalid_dpop_proof"

_nonces: dict[str, str] = {}
_nonces_lock = threading.Lock()


@dataclass(frozen=True)
class Attempt:
    """What the last send of a call carried, and which retries it has had."""

    token: str | None
    nonce: str | None = None  # the DPoP nonce its proof carried
    renewed: bool = False
    nonce_retried: bool = False
    stepped_up: bool = False  # sent again after a step-up challenge

    def after(self, retry: Retry, token: str | None) -> Attempt:
        if retry.renew_token:
            stepped_up = self.stepped_up or retry.requirement is not None
            return replace(
                self, token=token, nonce=retry.nonce, renewed=True, stepped_up=stepped_up
            )
        return replace(self, nonce=retry.nonce, nonce_retried=True)


@dataclass(frozen=True)
class Retry:
    renew_token: bool  # False: the same token, signed again with ``nonce``
    nonce: str | None
    # A step-up challenge's: the renewed token must come from a login that meets it.
    requirement: AuthenticationRequirement | None = None


def first_attempt(upstream: Upstream, token: str | None) -> Attempt:
    return Attempt(token=token, nonce=latest_nonce(upstream) if upstream.dpop else None)


def next_attempt(
    upstream: Upstream,
    status: int,
    challenges: Iterable[str],
    nonce_header: str | None,
    *,
    attempt: Attempt,
    replayable: bool,
) -> Retry | None:
    """The retry to make after this answer, or None to hand it to the browser. Remembers a DPoP
    upstream's new nonce. Raises ``UpstreamNonceLoop``, ``UpstreamNonceUnmet``,
    ``UpstreamRefusedProof`` or ``UpstreamStepUpUnmet`` for the answers no browser should see."""
    if upstream.dpop:
        note_nonce(upstream, nonce_header)
    required = challenged_requirement(upstream, status, challenges)
    if required is not None:
        # Also without a token (an optional upstream, nobody logged in): the getter asks for a
        # login that meets it.
        if not step_up_resend(upstream, stepped_up=attempt.stepped_up, replayable=replayable):
            return None  # the shell checks the session, and gives up
        nonce = usable_nonce(nonce_header) or attempt.nonce
        return Retry(renew_token=True, nonce=nonce, requirement=required)
    if status != 401 or attempt.token is None:
        return None
    errors = challenge_errors(challenges, "dpop" if upstream.dpop else "bearer")
    if upstream.dpop and NONCE_CHALLENGE in errors:
        nonce = nonce_to_retry_with(
            status=status,
            error=NONCE_CHALLENGE,
            nonce_header=nonce_header,
            sent_nonce=attempt.nonce,
        )
        if nonce is None or attempt.nonce_retried:
            raise UpstreamNonceLoop(f"{upstream.name} kept asking for a new DPoP nonce.")
        if not replayable:
            raise UpstreamNonceUnmet()
        return Retry(renew_token=False, nonce=nonce)
    if upstream.dpop and PROOF_REFUSED in errors:
        raise UpstreamRefusedProof(f"{upstream.name} refused this site's DPoP proof.")
    if "invalid_token" in errors and replayable and not attempt.renewed:
        return Retry(renew_token=True, nonce=usable_nonce(nonce_header) or attempt.nonce)
    return None


def proof_for(upstream: Upstream, method: str, target: str, attempt: Attempt) -> str | None:
    """The ``DPoP`` header for this attempt: a new proof of the call (``htu`` is the upstream's
    URL for ``target``, without its query), or None for a bearer upstream or no token."""
    if not upstream.dpop or attempt.token is None:
        return None
    return dpop_proof(
        attempt.token, method=method, url=upstream.origin + target, nonce=attempt.nonce
    )


def retry_headers(upstream: Upstream, method: str, target: str, attempt: Attempt) -> dict[str, str]:
    """The credential headers that replace the last attempt's."""
    if attempt.token is None:
        return {}
    return credential_headers(attempt.token, proof_for(upstream, method, target, attempt))


def latest_nonce(upstream: Upstream) -> str | None:
    return _nonces.get(upstream.origin)


def note_nonce(upstream: Upstream, header: str | None) -> None:
    nonce = usable_nonce(header)
    if nonce is not None:
        with _nonces_lock:
            _nonces[upstream.origin] = nonce


def forget_nonces() -> None:
    """Only the tests call it, between tests that point an upstream elsewhere."""
    with _nonces_lock:
        _nonces.clear()
