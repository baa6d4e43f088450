"""proxy.retries: after an upstream's answer, hand it on or send once more; never a loop."""

import time
from functools import partial

import pytest
import urllib3
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.test import RequestFactory

from accounts.api import (
    AccessCredential,
    AuthenticationRequirement,
    StepUpRequired,
    check_authentication,
)
from proxy.exceptions import (
    UpstreamNonceLoop,
    UpstreamNonceUnmet,
    UpstreamRefusedProof,
    UpstreamStepUpUnmet,
)
from proxy.forwarding import retry_for
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


def judge(upstream, status, challenges, nonce=None, *, replayable=True):
    return judge_answer(
        upstream,
        status,
        challenges,
        nonce,
        attempt=Attempt(token=BOUND if upstream.dpop else UNBOUND),
        replayable=replayable,
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
    passed = judge(DPOP, 200, [])
    assert passed.passes_on
    assert passed.retry_or_raise() is None

    retried = judge(DPOP, 401, NONCE, "n-1")
    assert not retried.passes_on
    assert retried.retry_or_raise() == Retry(renew_token=False, nonce="n-1")

    refused = judge(DPOP, 401, ['DPoP error="invalid_dpop_proof"'])
    assert not refused.passes_on
    with pytest.raises(UpstreamRefusedProof):
        refused.retry_or_raise()


# --- RFC 9470 step-up challenges (proxy.step_up) ------------------------------------------------

STEP_UP = ['Bearer error="insufficient_user_authentication", acr_values="gold"']
GOLD = AuthenticationRequirement(("gold",))


def test_a_step_up_challenge_renews_the_token_for_its_requirement_once():
    retry = decide(BEARER, 401, STEP_UP)
    assert retry == Retry(renew_token=True, nonce=None, requirement=GOLD)
    again = Attempt(token=UNBOUND).after(retry, AccessCredential("t2"))
    assert again.stepped_up
    assert again.renewed
    # The renewed token was challenged again: the session has the level, the API wants more
    # than any login gives it. Logging in again would loop.
    with pytest.raises(UpstreamStepUpUnmet) as unmet:
        decide(BEARER, 401, STEP_UP, attempt=again)
    assert unmet.value.status == 403
    assert "logging in again would change nothing" in unmet.value.message


def test_a_step_up_challenge_after_an_invalid_token_renewal_still_gets_its_own():
    renewed = Attempt(token=UNBOUND).after(Retry(renew_token=True, nonce=None), UNBOUND)
    assert decide(BEARER, 401, STEP_UP, attempt=renewed).requirement == GOLD


def test_a_step_up_challenge_to_a_streamed_body_weighs_the_login_then_gives_up():
    # Nothing to send again: the shell checks the session (a short one steps up), then the
    # refusal stands.
    verdict = judge(BEARER, 401, STEP_UP, replayable=False)
    assert verdict.retry is None
    assert verdict.step_up == GOLD
    assert isinstance(verdict.refusal, UpstreamStepUpUnmet)
    assert not verdict.passes_on


def test_a_step_up_challenge_without_a_token_asks_for_a_login_that_meets_it():
    optional = parse_upstream("maybe", {"url": "https://api.example.com", "auth": "optional"})
    retry = decide(optional, 401, STEP_UP, attempt=Attempt(token=None))
    assert retry is not None
    assert retry.requirement == GOLD


def test_an_upstream_sent_no_token_is_not_stepped_up_for():
    anonymous = parse_upstream("open", {"url": "https://api.example.com", "auth": "none"})
    assert decide(anonymous, 401, STEP_UP, attempt=Attempt(token=None)) is None


def test_a_dpop_upstreams_step_up_challenge_keeps_its_nonce():
    challenge = ['DPoP error="insufficient_user_authentication", max_age="60"']
    retry = decide(DPOP, 401, challenge, "n-2")
    assert retry == Retry(
        renew_token=True, nonce="n-2", requirement=AuthenticationRequirement(max_age=60)
    )


def logged_in(acr=None):
    """A page's call from a session whose login reached ``acr`` (None: unknown) just now."""
    request = RequestFactory().get("/api/proxy/dpop/x", HTTP_REFERER="http://testserver/bank/")
    request.user = User(username="alice")
    request.session = SessionBase()
    request.session["accounts_authentication"] = {"acr": acr, "auth_time": time.time()}
    return request


def challenged(challenge):
    return urllib3.HTTPResponse(
        body=b'{"error": "no"}',
        status=401,
        headers={"WWW-Authenticate": challenge, "Content-Length": "15"},
        preload_content=False,
    )


def test_a_step_up_challenge_that_earns_no_retry_is_the_proxys_step_up_answer():
    challenge = 'DPoP error="insufficient_user_authentication", acr_values="urn:loa:2"'
    # The call cannot be sent again (its body streamed): a login short of the challenge is the
    # proxy's step-up answer, through the same check the token getter makes.
    short = logged_in()
    with pytest.raises(StepUpRequired) as raised:
        retry_for(
            challenged(challenge),
            DPOP,
            Attempt(token=BOUND),
            False,
            partial(check_authentication, short),
        )
    assert "acr_values=urn%3Aloa%3A2" in raised.value.login_url
    # A login that already meets it could do no more: the proxy's 403, not a login loop.
    met = logged_in("urn:loa:2")
    with pytest.raises(UpstreamStepUpUnmet):
        retry_for(
            challenged(challenge),
            DPOP,
            Attempt(token=BOUND),
            False,
            partial(check_authentication, met),
        )
    # Sent again, it renews the token for the requirement (the getter makes the same check).
    verdict = judge(DPOP, 401, [challenge])
    assert verdict.retry == Retry(
        renew_token=True, nonce=None, requirement=AuthenticationRequirement(("urn:loa:2",))
    )
    assert verdict.step_up is None
    # A bad token is renewed first: the step-up is judged on the answer to the renewed one.
    both = judge(DPOP, 401, [challenge, 'DPoP error="invalid_token"'])
    assert (both.retry, both.step_up) == (Retry(renew_token=True, nonce=None), None)
