"""The token endpoint's answer, checked for the code exchange and for the refresh grant."""

import json
import logging

import pytest
import requests

from accounts.exceptions import LoginFailed, ProviderUnavailable
from accounts.oidc.backend import OIDCBackend
from accounts.oidc.token_endpoint import (
    MalformedTokenAnswer,
    TokenEndpointRefused,
    checked_token_answer,
)

URL = "https://issuer.test/token"
GOOD = {"access_token": "a", "id_token": "i", "token_type": "Bearer", "expires_in": 60}
LOGIN = {"id_token_required": True, "token_type_required": True}
REFRESH = {"id_token_required": False, "token_type_required": False}


def answer(status, body):
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return response


def without(name):
    return {k: v for k, v in GOOD.items() if k != name}


@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
@pytest.mark.parametrize(
    "body",
    [GOOD, {**GOOD, "token_type": "bearer"}, {**GOOD, "token_type": "BEARER"}],
)
def test_a_usable_answer_comes_back_whole(grant, body):
    assert checked_token_answer(answer(200, body), URL, **grant) == body


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant", "error_description": "revoked"}, "invalid_grant"),
        (401, {"error": "invalid_client"}, "invalid_client"),
        (400, {"error": "unauthorized_client"}, "unauthorized_client"),
        # An error body wins even on a 200.
        (200, {"error": "invalid_scope"}, "invalid_scope"),
        # A refusal that names no error: the status stands in.
        (403, {"message": "forbidden"}, "403"),
    ],
)
@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
def test_an_oauth_error_carries_its_code(grant, status, body, error):
    with pytest.raises(TokenEndpointRefused) as refused:
        checked_token_answer(answer(status, body), URL, **grant)
    assert refused.value.error == error


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "server_error"}, "answered 500"),
        (503, b"<html>down</html>", "answered 503"),
        (200, b"not json", "not JSON"),
        (400, b"<html>Bad request</html>", "not JSON"),
        (200, [GOOD], "unexpected document"),
    ],
)
@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
def test_a_failing_provider_is_unavailable_not_a_refusal(grant, status, body, message):
    with pytest.raises(ProviderUnavailable) as failed:
        checked_token_answer(answer(status, body), URL, **grant)
    assert not isinstance(failed.value, MalformedTokenAnswer)
    assert message in failed.value.message


@pytest.mark.parametrize(
    ("grant", "body", "message"),
    [
        (LOGIN, without("access_token"), "lacks access_token"),
        (REFRESH, without("access_token"), "lacks access_token"),
        (LOGIN, {**GOOD, "access_token": ""}, "lacks access_token"),
        (REFRESH, {**GOOD, "access_token": 42}, "lacks access_token"),
        (LOGIN, without("id_token"), "lacks id_token"),
        (LOGIN, {**GOOD, "id_token": None}, "lacks id_token"),
        # A DPoP-bound token when no proof was sent: nothing here could use it.
        (LOGIN, {**GOOD, "token_type": "DPoP"}, "token type"),
        (REFRESH, {**GOOD, "token_type": "dpop"}, "token type"),
        (REFRESH, {**GOOD, "token_type": "mac"}, "token type"),
        (LOGIN, without("token_type"), "token type"),
    ],
)
def test_an_unusable_success_is_malformed(grant, body, message):
    with pytest.raises(MalformedTokenAnswer) as malformed:
        checked_token_answer(answer(200, body), URL, **grant)
    assert message in malformed.value.message


@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        # An access token goes in an Authorization header, and a DPoP proof hashes its ASCII:
        # a non-ASCII one was a 500 on every call to a DPoP upstream.
        ("access_token", "tök"),
        ("access_token", "two words"),
        ("access_token", "line\nbreak"),
        ("access_token", "tab\t"),
        ("access_token", "\x00"),
        # A refresh token goes in a form: any visible ASCII or space, nothing else.
        ("refresh_token", "ré"),
        ("refresh_token", "line\nbreak"),
        ("refresh_token", 42),
        ("refresh_token", ["r"]),
        # An ID token is a compact JWS.
        ("id_token", "eyJ.é.x"),
        ("id_token", "a b.c.d"),
        ("id_token", 42),
    ],
)
def test_a_token_that_cannot_be_sent_is_malformed(grant, name, value):
    with pytest.raises(MalformedTokenAnswer) as malformed:
        checked_token_answer(answer(200, {**GOOD, name: value}), URL, **grant)
    assert name in malformed.value.message  # "has an unusable", or "lacks" for a login's


@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
def test_tokens_of_every_usable_character_pass(grant):
    body = {
        **GOOD,
        "access_token": "AZaz09-._~+/=!#$%&'()*,:;<>?@[]^`{|}",
        "refresh_token": "a refresh token with spaces ~",
        "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_",
    }
    assert checked_token_answer(answer(200, body), URL, **grant) == body
    # An empty or absent refresh token is none, as before.
    assert checked_token_answer(answer(200, {**GOOD, "refresh_token": ""}), URL, **grant)
    assert checked_token_answer(answer(200, {**GOOD, "refresh_token": None}), URL, **grant)


@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
@pytest.mark.parametrize("token_type", ["DPoP", "dpop", "DPOP"])
def test_a_dpop_token_is_usable_when_a_proof_was_sent(grant, token_type):
    body = {**GOOD, "token_type": token_type}
    assert checked_token_answer(answer(200, body), URL, **grant, proof_sent=True) == body


@pytest.mark.parametrize("grant", [LOGIN, REFRESH])
def test_other_token_types_stay_unusable_when_a_proof_was_sent(grant):
    with pytest.raises(MalformedTokenAnswer):
        checked_token_answer(
            answer(200, {**GOOD, "token_type": "mac"}), URL, **grant, proof_sent=True
        )


@pytest.mark.parametrize("body", [without("id_token"), without("token_type")])
def test_the_refresh_needs_no_id_token_and_reads_a_missing_token_type_as_bearer(body):
    assert checked_token_answer(answer(200, body), URL, **REFRESH) == body


@pytest.fixture
def exchange(monkeypatch):
    """OIDCBackend.exchange_code against a token endpoint that answers ``answers``."""
    answers: list[tuple[int, object]] = []

    def post(url, data, *, auth=None, headers=None, timeout=None):
        assert dict(data)["grant_type"] == "authorization_code"
        return answer(*answers.pop(0))

    monkeypatch.setattr("accounts.oidc.client_auth.provider_post_form", post)

    def run(status, body):
        answers.append((status, body))
        return OIDCBackend().exchange_code(URL, "the-code", "the-verifier")

    return run


def test_the_code_exchange_returns_the_checked_answer(exchange):
    assert exchange(200, GOOD) == GOOD


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            {"error": "invalid_grant"},
            "The identity provider refused the login (invalid_grant).",
        ),
        (200, without("id_token"), "The identity provider's answer lacks id_token."),
        (
            200,
            without("token_type"),
            "The identity provider issued a token type this site cannot use.",
        ),
    ],
)
def test_the_code_exchange_turns_a_bad_answer_into_a_failed_login(exchange, status, body, message):
    with pytest.raises(LoginFailed) as failed:
        exchange(status, body)
    assert failed.value.message == message
    assert not isinstance(failed.value, ProviderUnavailable)


def test_the_code_exchange_logs_the_refusals_error_code(exchange, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="accounts.oidc.backend"),
        pytest.raises(LoginFailed),
    ):
        exchange(401, {"error": "invalid_client"})
    assert "code exchange refused by the provider: invalid_client" in caplog.text


def test_the_code_exchange_leaves_a_failing_provider_unavailable(exchange):
    with pytest.raises(ProviderUnavailable) as failed:
        exchange(502, b"<html>Bad gateway</html>")
    assert not isinstance(failed.value, LoginFailed)
