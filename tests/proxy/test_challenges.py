"""proxy.challenges: only an upstream 401 that says the token is bad is worth a renewal."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from proxy.challenges import (
    MAX_CHALLENGE_LENGTH,
    MAX_CHALLENGES,
    Challenge,
    challenge_errors,
    parse_challenges,
)
from tests.proxy.conftest import login


def token_rejected(values, scheme="bearer"):
    """What earns a renewal in ``proxy.retries``: the token's scheme says ``invalid_token``."""
    return "invalid_token" in challenge_errors(values, scheme)


@pytest.mark.parametrize(
    ("values", "rejected"),
    [
        (['Bearer error="invalid_token"'], True),
        (['Bearer realm="api", error="invalid_token", error_description="expired"'], True),
        (["Bearer error=invalid_token"], True),  # a token, not a quoted string
        (["Bearer"], True),  # no error: the request carried no token the server accepted
        (['Bearer realm="api"'], True),
        (['Basic realm="x", Bearer error="invalid_token"'], True),  # one of several
        (['Basic realm="x"', 'Bearer error="invalid_token"'], True),  # in two header lines
        (['Bearer error="insufficient_scope", scope="notes:write"'], False),
        (['Bearer error="invalid_request"'], False),
        (['Basic realm="x"'], False),
        (["Negotiate YIIB=="], False),
        ([], False),  # no challenge at all
        ([""], False),
        (['Bearer realm="unterminated'], True),  # broken after the scheme: still Bearer
        (["=garbage"], False),
    ],
)
def test_which_401s_say_the_token_is_bad(values, rejected):
    assert token_rejected(values) is rejected


@pytest.mark.parametrize(
    ("values", "rejected"),
    [
        (['DPoP error="invalid_token"'], True),
        (['DPoP algs="ES256"'], True),  # no error: the token was not accepted
        (['DPoP error="use_dpop_nonce"'], False),
        (['DPoP error="invalid_dpop_proof"'], False),
        (['Bearer error="invalid_token"'], False),  # not the scheme the token went with
    ],
)
def test_a_dpop_token_is_judged_by_dpop_challenges(values, rejected):
    assert token_rejected(values, "dpop") is rejected


def test_challenges_are_read_with_their_parameters():
    assert parse_challenges(['Bearer realm="a, b", error="invalid_token", scope="x"']) == [
        Challenge("bearer", {"realm": "a, b", "error": "invalid_token", "scope": "x"})
    ]
    assert parse_challenges(['DPoP algs="ES256", Basic realm="r"']) == [
        Challenge("dpop", {"algs": "ES256"}),
        Challenge("basic", {"realm": "r"}),
    ]

    # A challenge with nothing after its scheme, then another (RFC 9110 section 11.6.1).
    assert parse_challenges(['Bearer, DPoP algs="ES256 PS256"']) == [
        Challenge("bearer"),
        Challenge("dpop", {"algs": "ES256 PS256"}),
    ]
    assert parse_challenges(["Negotiate YIIB==, Bearer error=invalid_token"]) == [
        Challenge("negotiate"),
        Challenge("bearer", {"error": "invalid_token"}),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "Bearer" + " " * 8000 + "=",
        "Bearer a" + " " * 8000 + "b",
        "Bearer " + ",".join(f"a{i}=b" for i in range(1000)),
        ", ".join(["Bearer"] * 1000),
        'Bearer error="' + "\\a" * 4000 + '"',
        "Bearer realm=x" + "," * 8000,
        "Bearer a=b," + " \t" * 4000,
        "Bearer " + "= " * 4000,
    ],
)
def test_a_hostile_challenge_costs_time_in_proportion_to_its_length(value):
    # What http.client lets an upstream send: up to 100 header lines. Reading them all must
    # not hold a worker: a parser that backtracks took seconds on the first value alone.
    started = time.perf_counter()
    parse_challenges([value[:MAX_CHALLENGE_LENGTH]] * 100)
    assert time.perf_counter() - started < 1


def test_a_challenge_longer_than_any_real_one_is_ignored():
    padded = 'Bearer error="invalid_token", realm="' + "x" * MAX_CHALLENGE_LENGTH + '"'
    assert parse_challenges([padded]) == []
    assert token_rejected([padded, 'Basic realm="x"']) is False
    assert len(parse_challenges(["Basic, Negotiate"] * 100)) == MAX_CHALLENGES


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.parametrize(
    "challenges",
    [['Basic realm="upstream"'], ['Bearer error="insufficient_scope"'], []],
)
def test_a_401_for_another_reason_passes_through_without_a_refresh(
    proxy_settings,
    echo,
    provider,
    challenges,
    make_client,
):
    client = login(make_client())
    provider.reset_stats()
    response = client.get(
        "/api/proxy/echo/unauthorized", {"challenge": challenges}, HTTP_X_CSRF="1"
    )
    assert response.status_code == 401
    assert len(echo.arrivals) == 1  # not retried
    assert provider.stats()["refresh_grants"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_storm_of_bad_token_401s_costs_one_refresh(proxy_settings, echo, provider, make_client):
    client = login(make_client())
    provider.reset_stats()
    cookie = client.cookies["sessionid"].value
    challenge = {"challenge": ['Bearer error="invalid_token"']}

    def call(_):
        browser = make_client()
        browser.cookies["sessionid"] = cookie
        return browser.get("/api/proxy/echo/unauthorized", challenge, HTTP_X_CSRF="1").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(call, range(20)))
    assert statuses == [401] * 20  # the upstream goes on refusing; each call is retried once
    assert provider.stats()["refresh_grants"] == 1
