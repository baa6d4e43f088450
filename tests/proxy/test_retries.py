"""proxy.retries: after an upstream's answer, hand it on or send once more; never a loop."""

import pytest
from django.test import RequestFactory

from accounts.api import AccessCredential, AuthenticationRequirement, StepUpRequired
from proxy.exceptions import UpstreamNonceLoop, UpstreamNonceUnmet, UpstreamRefusedProof
from proxy.retries import (
    Attempt,
    Retry,
    first_attempt,
    forget_nonces,
    judge_answer,
    latest_nonce,
    note_nonce,
)
from proxy.upstreams import parse_upstream

BEARER = parse_upstream("notes", "https://api.example.com")
DPOP = parse_upstream("dpop", {"url": "https://dpop.example.com", "dpop": True})
NONCE = ['DPoP error="use_dpop_nonce"']
# The token's type, not the upstream, names the scheme its challenges come in.
BOUND = AccessCredential("t", "DPoP")
UNBOUND = AccessCredential("t")


@pytest.fixture(autouse=True)
def _no_nonces():
    forget_nonces()
    yield
    forget_nonces()


def decide(upstream, status, challenges, nonce=None, *, attempt=None, replayable=True):
    """The retry the answer earns, or None; the proxy's own error raised."""
    verdict = judge_answer(
        upstream,
        status,
        challenges,
        nonce,
        attempt=attempt or Attempt(token=BOUND if upstream.dpop else UNBOUND),
        replayable=replayable,
    )
    if verdict.refusal is not None:
        raise verdict.refusal
    return verdict.retry


def judge(upstream, status, challenges, nonce=None):
    return judge_answer(
        upstream, status, challenges, nonce, attempt=Attempt(token=BOUND), replayable=True
    )


@pytest.mark.parametrize(
    ("upstream", "status", "challenges", "expected"),
    [
        (BEARER, 200, [], None),
        (BEARER, 401, ['Bearer error="invalid_token"'], Retry(renew_token=True, nonce=None)),
        (BEARER, 401, ["Bearer"], Retry(renew_token=True, nonce=None)),
        (BEARER, 401, ['DPoP error="invalid_token"'], None),  # not the scheme it was sent with
        (BEARER, 401, NONCE, None),  # a bearer upstream's nonce challenge is its own business
        (BEARER, 403, ['Bearer error="invalid_token"'], None),
        (DPOP, 401, ['DPoP error="invalid_token"'], Retry(renew_token=True, nonce=None)),
        (DPOP, 401, ['DPoP algs="ES256"'], Retry(renew_token=True, nonce=None)),
        (DPOP, 401, ['Bearer error="invalid_token"'], None),
        (DPOP, 401, ['DPoP error="insufficient_scope"'], None),
        (DPOP, 401, [], None),
    ],
)
def test_which_answers_are_retried(upstream, status, challenges, expected):
    assert decide(upstream, status, challenges) == expected


@pytest.mark.parametrize(
    ("challenges", "nonce", "expected"),
    [
        (['DPoP error="invalid_token"'], None, Retry(renew_token=True, nonce=None)),
        (['Bearer error="invalid_token"'], None, None),
        (NONCE, "n-1", Retry(renew_token=False, nonce="n-1")),
    ],
)
def test_a_bound_token_to_an_upstream_without_the_flag_is_judged_as_dpop(
    challenges, nonce, expected
):
    assert decide(BEARER, 401, challenges, nonce, attempt=Attempt(token=BOUND)) == expected
    if nonce:
        assert latest_nonce(BEARER) == nonce  # its nonces are for this site's proofs now


def test_a_nonce_challenge_is_retried_once_with_its_nonce():
    retry = decide(DPOP, 401, NONCE, "n-1")
    assert retry == Retry(renew_token=False, nonce="n-1")
    after = Attempt(token=BOUND).after(retry, BOUND)
    assert (after.nonce, after.nonce_retried, after.renewed) == ("n-1", True, False)
    with pytest.raises(UpstreamNonceLoop):
        decide(DPOP, 401, NONCE, "n-2", attempt=after)


@pytest.mark.parametrize("nonce", [None, "", "n-0", 'a"b'])
def test_a_nonce_challenge_without_a_new_usable_nonce_is_a_loop_at_once(nonce):
    with pytest.raises(UpstreamNonceLoop):
        decide(DPOP, 401, NONCE, nonce, attempt=Attempt(token=BOUND, nonce="n-0"))


def test_a_nonce_challenge_to_a_streamed_body_cannot_be_met_now():
    with pytest.raises(UpstreamNonceUnmet) as caught:
        decide(DPOP, 401, NONCE, "n-1", replayable=False)
    assert caught.value.status == 503
    assert latest_nonce(DPOP) == "n-1"  # kept: sending the call again works


def test_a_refused_proof_is_the_proxys_error():
    with pytest.raises(UpstreamRefusedProof) as caught:
        decide(DPOP, 401, ['DPoP error="invalid_dpop_proof"'])
    assert caught.value.status == 502


def test_the_token_is_renewed_once_and_each_retry_happens_once():
    new = AccessCredential("t2", "DPoP")
    renewed = Attempt(token=BOUND).after(Retry(renew_token=True, nonce=None), new)
    assert (renewed.token, renewed.renewed) == (new, True)
    assert decide(DPOP, 401, ['DPoP error="invalid_token"'], attempt=renewed) is None
    # A nonce challenge after a renewal still gets its one retry: three sends at most.
    assert decide(DPOP, 401, NONCE, "n-1", attempt=renewed) == Retry(False, "n-1")


def test_a_renewal_carries_the_newest_nonce():
    attempt = Attempt(token=BOUND, nonce="n-1")
    retry = decide(DPOP, 401, ['DPoP error="invalid_token"'], "n-2", attempt=attempt)
    assert retry == Retry(renew_token=True, nonce="n-2")
    assert decide(DPOP, 401, ['DPoP error="invalid_token"'], attempt=attempt).nonce == "n-1"


def test_nothing_is_retried_without_a_token_or_a_replayable_body():
    assert decide(DPOP, 401, NONCE, "n-1", attempt=Attempt(token=None)) is None
    assert decide(BEARER, 401, ["Bearer"], replayable=False) is None


def test_nonces_are_kept_per_upstream_origin_from_any_answer_to_a_bound_token():
    assert first_attempt(DPOP, BOUND).nonce is None
    decide(DPOP, 200, [], "n-9")
    assert first_attempt(DPOP, BOUND) == Attempt(token=BOUND, nonce="n-9")
    note_nonce(DPOP, "not usable\\")
    assert latest_nonce(DPOP) == "n-9"
    same_origin = parse_upstream("other", {"url": "https://dpop.example.com/v2", "dpop": True})
    assert latest_nonce(same_origin) == "n-9"
    decide(BEARER, 200, [], "n-1", attempt=Attempt(token=UNBOUND))
    assert latest_nonce(BEARER) is None  # an answer to a bearer token has no nonce for us
    assert first_attempt(BEARER, UNBOUND).nonce is None
    decide(BEARER, 200, [], "n-2", attempt=Attempt(token=BOUND))
    assert first_attempt(BEARER, BOUND).nonce == "n-2"
    assert first_attempt(BEARER, UNBOUND).nonce is None


def test_only_an_answer_that_earns_nothing_else_is_passed_on():
    request = RequestFactory().get("/api/proxy/dpop/x")
    passed = judge(DPOP, 200, [])
    assert passed.passes_on
    assert passed.retry_or_raise(request) is None

    retried = judge(DPOP, 401, NONCE, "n-1")
    assert not retried.passes_on
    assert retried.retry_or_raise(request) == Retry(renew_token=False, nonce="n-1")

    refused = judge(DPOP, 401, ['DPoP error="invalid_dpop_proof"'])
    assert not refused.passes_on
    with pytest.raises(UpstreamRefusedProof):
        refused.retry_or_raise(request)


def test_a_step_up_challenge_that_earns_no_retry_is_the_proxys_step_up_answer():
    challenge = 'DPoP error="insufficient_user_authentication", acr_values="urn:loa:2"'
    verdict = judge(DPOP, 401, [challenge])
    assert verdict.step_up == AuthenticationRequirement(("urn:loa:2",))
    assert not verdict.passes_on
    request = RequestFactory().get("/api/proxy/dpop/x", HTTP_REFERER="http://testserver/bank/")
    with pytest.raises(StepUpRequired) as raised:
        verdict.retry_or_raise(request)
    assert "acr_values=urn%3Aloa%3A2" in raised.value.login_url
    # A bad token is renewed first: the step-up is judged on the answer to the renewed one.
    both = judge(DPOP, 401, [challenge, 'DPoP error="invalid_token"'])
    assert (both.retry, both.step_up) == (Retry(renew_token=True, nonce=None), None)
