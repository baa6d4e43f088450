import pytest

from accounts.protocol.pushed_authorization import (
    PushAnswerUnusable,
    PushDeferred,
    PushRefused,
    authorization_parameters,
    front_channel_url,
    push_decision,
    request_uri_from,
    retry_after_seconds,
)

PAR = "https://op.test/par"


@pytest.mark.parametrize(
    ("setting", "endpoint", "required", "decision"),
    [
        ("auto", PAR, False, "push"),
        ("auto", None, False, "redirect"),
        ("always", PAR, False, "push"),
        ("always", None, False, "unavailable"),
        ("never", PAR, False, "redirect"),
        ("never", None, False, "redirect"),
        # The provider's requirement wins over "never": it would refuse the login otherwise.
        ("never", PAR, True, "push"),
        ("auto", PAR, True, "push"),
        ("auto", None, True, "unavailable"),
    ],
)
def test_when_a_login_is_pushed(setting, endpoint, required, decision):
    assert push_decision(setting, endpoint=endpoint, required=required) == decision


def test_every_parameter_of_the_url_is_pushed_in_order_with_repeats():
    url = "https://op.test/auth?response_type=code&resource=https%3A%2F%2Fa&resource=b&prompt="
    assert authorization_parameters(url) == [
        ("response_type", "code"),
        ("resource", "https://a"),
        ("resource", "b"),
        ("prompt", ""),
    ]


def test_the_browser_gets_the_client_id_and_the_request_uri_only():
    urn = "urn:ietf:params:oauth:request_uri:abc"
    assert front_channel_url("https://op.test/auth", client_id="c 1", request_uri=urn) == (
        "https://op.test/auth?client_id=c+1&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
    )
    # An authorization endpoint that has a query of its own keeps it.
    assert front_channel_url("https://op.test/auth?tenant=x", client_id="c", request_uri="u") == (
        "https://op.test/auth?tenant=x&client_id=c&request_uri=u"
    )


def test_a_successful_push_yields_its_request_uri():
    body = {"request_uri": "urn:x", "expires_in": 60}
    assert request_uri_from(201, body) == "urn:x"
    assert request_uri_from(200, body) == "urn:x"


def test_an_oauth_error_is_a_refusal_with_its_code():
    with pytest.raises(PushRefused) as refused:
        request_uri_from(400, {"error": "invalid_request", "error_description": "x"})
    assert refused.value.error == "invalid_request"
    with pytest.raises(PushRefused) as refused:
        request_uri_from(401, {})
    assert refused.value.error == "401"
    with pytest.raises(PushRefused) as refused:
        request_uri_from(400, {"error": "x" * 500})
    assert len(refused.value.error) == 100


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "server_error"}),
        (502, None),
        (413, {"error": "invalid_request"}),
        (201, None),  # not JSON
        (201, {"expires_in": 60}),
        (201, {"request_uri": ""}),
        (201, {"request_uri": 42}),
        (302, {"request_uri": "urn:x"}),
        (400, None),
    ],
)
def test_anything_else_is_unusable(status, body):
    with pytest.raises(PushAnswerUnusable):
        request_uri_from(status, body)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("header", "seconds"),
    [("30", 30), (" 0 ", 0), ("86400", 86400), ("86401", None), ("1.5", None), (None, None)],
)
def test_a_provider_that_asks_to_be_tried_later_defers(status, header, seconds):
    with pytest.raises(PushDeferred) as deferred:
        request_uri_from(status, {"error": "slow_down"}, header)
    assert deferred.value.retry_after == seconds


def test_retry_after_takes_whole_seconds_only():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds("٣") is None  # a digit, but not an ASCII one
