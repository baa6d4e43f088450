"""After an upstream's answer: hand it to the browser, send the call once more, or answer with
the proxy's own error. Pure rules the three shells follow (``proxy.views``, ``proxy.asgi_http``
and the WebSocket handshake in ``proxy.websockets``), and the credentials each attempt carries
(``proxy.credentials``: the token's own type names the scheme).

- A 401 whose challenge, in the scheme the token went with (``Bearer``, or ``DPoP`` for a
  DPoP-bound token), says the token is bad: the token is renewed once and the call sent again
  (``proxy.challenges``).
- To a DPoP-bound token, a 401 ``use_dpop_nonce`` with a new ``DPoP-Nonce`` (RFC 9449 §9): the
  call is signed again with that nonce and sent once more. Asked again, or for the nonce just
  sent, the upstream is looping: **502** ``upstream_dpop_nonce_loop``, never its raw 401, which a
  page's script would take for a logout. A 401 ``invalid_dpop_proof`` refused this site's proof:
  **502** ``upstream_refused_dpop_proof``.
- An RFC 9470 step-up challenge (``proxy.step_up``), once no other retry is due (a renewed
  token may be enough): the token is renewed for what it asks, which steps the user up instead
  (the proxy's own 401 ``step_up_required``) when the session's login falls short, and the call
  is sent once more. Challenged again, or when the call cannot be sent again and the login
  already meets it: **403** ``upstream_step_up_unmet``.

Each kind of retry happens at most once, and only when the body can be sent again, so a call
goes out four times at most. The latest nonce of each upstream that takes DPoP-bound tokens
(from any answer to one) is remembered per process and origin, so the next call carries it and
costs no challenge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from accounts.api import (
    AccessCredential,
    AuthenticationRequirement,
    LatestNonces,
    nonce_to_retry_with,
    usable_nonce,
)
from proxy.challenges import BAD_TOKEN_ERROR, challenge_errors
from proxy.credentials import credential_headers
from proxy.exceptions import (
    ProxyError,
    UpstreamNonceLoop,
    UpstreamNonceUnmet,
    UpstreamRefusedProof,
)
from proxy.step_up import challenged_requirement, unmet
from proxy.upstreams import Upstream

NONCE_CHALLENGE = "use_dpop_nonce"
PROOF_REFUSED = "invalid_dpop_proof"

_nonces = LatestNonces()


@dataclass(frozen=True)
class Attempt:
    """What the last send of a call carried, and which retries it has had."""

    token: AccessCredential | None
    nonce: str | None = None  # the DPoP nonce its proof carried
    renewed: bool = False
    nonce_retried: bool = False
    stepped_up: bool = False  # sent again after a step-up challenge

    @property
    def dpop(self) -> bool:
        """Whether it carried a DPoP-bound token, with a proof."""
        return self.token is not None and self.token.dpop_bound

    def after(self, retry: Retry, token: AccessCredential | None) -> Attempt:
        if retry.renew_token:
            stepped_up = self.stepped_up or retry.requirement is not None
            return replace(
                self, token=token, nonce=retry.nonce, renewed=True, stepped_up=stepped_up
            )
        return replace(self, nonce=retry.nonce, nonce_retried=True)

    def headers(self, upstream: Upstream, method: str, target: str) -> dict[str, str]:
        """Its credential headers (``proxy.credentials``); raises ``UpstreamNeedsBoundToken``
        when the upstream takes DPoP-bound tokens only and this token is not one."""
        return credential_headers(upstream, method, target, self.token, self.nonce)


@dataclass(frozen=True)
class Retry:
    renew_token: bool  # False: the same token, signed again with ``nonce``
    nonce: str | None
    # A step-up challenge's: the renewed token must come from a login that meets it.
    requirement: AuthenticationRequirement | None = None


@dataclass(frozen=True)
class Verdict:
    """What an answer leads to: a ``retry``, the proxy's own error instead of it (``refusal``),
    or, with all three None, the answer goes to the browser. Only then is it read; otherwise its
    connection is given back unread.

    ``step_up`` comes with a refusal that stands only for a login that meets it: the shell first
    checks the session's login against it (``check_login``, the token getter's own check), which
    raises ``StepUpRequired`` (or ``LoginRequired``) for a login that falls short."""

    retry: Retry | None = None
    refusal: ProxyError | None = None
    step_up: AuthenticationRequirement | None = None

    @property
    def passes_on(self) -> bool:
        return self.retry is None and self.refusal is None and self.step_up is None

    def retry_or_raise(self) -> Retry | None:
        """The retry, None to pass the answer on; the refusal raised."""
        if self.refusal is not None:
            raise self.refusal
        return self.retry


def first_attempt(upstream: Upstream, token: AccessCredential | None) -> Attempt:
    first = Attempt(token=token)
    return replace(first, nonce=latest_nonce(upstream)) if first.dpop else first


def judge_answer(
    upstream: Upstream,
    status: int,
    challenges: Iterable[str],
    nonce_header: str | None,
    *,
    attempt: Attempt,
    replayable: bool,
) -> Verdict:
    """What this answer to ``attempt`` leads to. Remembers the upstream's new nonce, which any
    answer to a DPoP-bound token may bring."""
    if attempt.dpop:
        note_nonce(upstream, nonce_header)
    if status != 401:
        return Verdict()
    challenges = list(challenges)
    verdict = Verdict()
    if attempt.token is not None:
        errors = challenge_errors(challenges, attempt.token.scheme.lower())
        verdict = _after_refused_token(upstream, errors, nonce_header, attempt, replayable)
    if not verdict.passes_on:
        return verdict
    # A step-up is weighed only once no other retry is due: a renewed token may be enough.
    required = challenged_requirement(upstream, 401, challenges)
    if required is None:
        return verdict
    return _after_step_up_challenge(upstream, required, nonce_header, attempt, replayable)


def _after_step_up_challenge(
    upstream: Upstream,
    required: AuthenticationRequirement,
    nonce: str | None,
    attempt: Attempt,
    replayable: bool,
) -> Verdict:
    if attempt.stepped_up:
        # The token was renewed for a challenge, from a login the getter found meets it, and
        # the upstream still asks: logging in again would bring back the same.
        return Verdict(refusal=unmet(upstream))
    if not replayable:
        # Nothing to send again: a login short of it steps up, one that meets it can do no more.
        return Verdict(refusal=unmet(upstream), step_up=required)
    # Also without a token (an optional upstream, nobody logged in): the getter asks for a
    # login that meets it, and steps up one that falls short.
    nonce = usable_nonce(nonce) or attempt.nonce
    return Verdict(retry=Retry(renew_token=True, nonce=nonce, requirement=required))


def _after_refused_token(
    upstream: Upstream, errors: set[str], nonce: str | None, attempt: Attempt, replayable: bool
) -> Verdict:
    if attempt.dpop and NONCE_CHALLENGE in errors:
        new_nonce = nonce_to_retry_with(
            status=401, error=NONCE_CHALLENGE, nonce_header=nonce, sent_nonce=attempt.nonce
        )
        if new_nonce is None or attempt.nonce_retried:
            return Verdict(
                refusal=UpstreamNonceLoop(f"{upstream.name} kept asking for a new DPoP nonce.")
            )
        if not replayable:
            return Verdict(refusal=UpstreamNonceUnmet())
        return Verdict(retry=Retry(renew_token=False, nonce=new_nonce))
    if attempt.dpop and PROOF_REFUSED in errors:
        return Verdict(
            refusal=UpstreamRefusedProof(f"{upstream.name} refused this site's DPoP proof.")
        )
    if BAD_TOKEN_ERROR in errors and replayable and not attempt.renewed:
        renewal = Retry(renew_token=True, nonce=usable_nonce(nonce) or attempt.nonce)
        return Verdict(retry=renewal)
    return Verdict()


def latest_nonce(upstream: Upstream) -> str | None:
    return _nonces.latest(upstream.origin)


def note_nonce(upstream: Upstream, header: str | None) -> None:
    _nonces.note(upstream.origin, header)


def forget_nonces() -> None:
    """Only the tests call it, between tests that point an upstream elsewhere."""
    _nonces.clear()
