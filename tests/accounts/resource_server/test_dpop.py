"""accounts.resource_server with DPoP-bound tokens (RFC 9449 section 7): a token bound to a key is
worth nothing without a proof of that key, so a stolen one is refused however it is presented,
and a proof is accepted once."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIRequestFactory

from accounts.protocol.dpop import proof
from accounts.protocol.signing_keys import signing_key
from accounts.resource_server import (
    AccessTokenError,
    AccessTokenValidator,
    DPoPPolicy,
    DPoPProofInvalid,
    HmacNonces,
    MemoryReplayCache,
    TokenMissing,
    UseDPoPNonce,
    require_access_token,
    validator_from_settings,
)
from tests.accounts.resource_server.drf_views import notes_view
from tests.accounts.resource_server.keys import API, ISSUER, KeyServer, access_claims
from tests.token_factory import SigningKey

URL = "http://testserver/notes"
ALGS = 'algs="RS256 PS256 ES256"'


@pytest.fixture(scope="module")
def issuer_key():
    return SigningKey("rs-dpop")


@pytest.fixture(scope="module")
def holder():
    """The DPoP key of the client the tokens are issued to."""
    return signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture(scope="module")
def thief():
    return signing_key(ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture
def keys(issuer_key):
    server = KeyServer(issuer_key)
    yield server
    server.stop()


def make_validator(keys, **policy):
    return AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri, dpop=DPoPPolicy(**policy)
    )


@pytest.fixture
def validator(keys):
    return make_validator(keys)


def bound_token(issuer_key, holder, **claims):
    return issuer_key.sign(access_claims(cnf={"jkt": holder.kid}, **claims))


def dpop_request(key, token, *, method="GET", url=URL, nonce=None, now=None):
    return {
        "authorization": f"DPoP {token}",
        "dpop": [
            proof(
                key,
                method=method,
                url=url,
                now=time.time() if now is None else now,
                access_token=token,
                nonce=nonce,
            )
        ],
        "method": method,
        "url": url,
    }


def test_a_bound_token_with_a_proof_of_its_key_passes(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    claims = validator.validate_request(**dpop_request(holder, token), scopes=["read:notes"])
    assert claims["sub"] == "alice"
    assert claims["cnf"]["jkt"] == holder.kid


def test_the_scheme_is_read_without_case(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    request = dpop_request(holder, token)
    request["authorization"] = f"dpop {token}"
    assert validator.validate_request(**request)["sub"] == "alice"


def test_a_bound_token_presented_as_bearer_is_refused(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    with pytest.raises(AccessTokenError, match="bound to a DPoP key") as caught:
        validator.validate_request(authorization=f"Bearer {token}", method="GET", url=URL)
    assert caught.value.status == 401
    challenge = caught.value.www_authenticate()
    assert challenge.startswith('Bearer realm="api", error="invalid_token"')
    assert challenge.endswith(f", DPoP {ALGS}")
    with pytest.raises(AccessTokenError, match="bound to a DPoP key"):
        validator.validate(token)


def test_a_stolen_token_with_a_proof_of_another_key_is_refused(
    validator, issuer_key, holder, thief
):
    token = bound_token(issuer_key, holder)
    with pytest.raises(AccessTokenError, match="not bound to the DPoP proof's key") as caught:
        validator.validate_request(**dpop_request(thief, token))
    assert caught.value.error == "invalid_token"
    assert caught.value.www_authenticate().startswith(f'DPoP realm="api", {ALGS}, error=')


def test_an_unbound_token_sent_as_dpop_is_refused(validator, issuer_key, holder):
    token = issuer_key.sign(access_claims())
    with pytest.raises(AccessTokenError, match="not bound"):
        validator.validate_request(**dpop_request(holder, token))


def test_a_replayed_proof_is_refused(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    request = dpop_request(holder, token)
    validator.validate_request(**request)
    with pytest.raises(DPoPProofInvalid, match="used before") as caught:
        validator.validate_request(**request)
    assert caught.value.status == 401
    assert 'error="invalid_dpop_proof"' in caught.value.www_authenticate()


def test_a_proof_for_another_request_is_invalid_dpop_proof(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    request = dpop_request(holder, token, method="POST")
    request["method"] = "GET"
    with pytest.raises(DPoPProofInvalid, match="htm") as caught:
        validator.validate_request(**request)
    assert caught.value.www_authenticate().startswith(
        f'DPoP realm="api", {ALGS}, error="invalid_dpop_proof"'
    )
    request = dpop_request(holder, token)
    request["dpop"] = []
    with pytest.raises(DPoPProofInvalid, match="exactly one"):
        validator.validate_request(**request)


def test_a_proof_made_before_the_window_is_refused(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    with pytest.raises(DPoPProofInvalid, match="iat"):
        validator.validate_request(**dpop_request(holder, token, now=time.time() - 120))


def test_a_bad_token_with_a_good_proof_is_invalid_token(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder, aud="http://elsewhere.test")
    with pytest.raises(AccessTokenError, match=r"(?i)audience") as caught:
        validator.validate_request(**dpop_request(holder, token))
    assert caught.value.error == "invalid_token"


def test_scopes_are_checked_after_the_binding(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder, scope="openid")
    with pytest.raises(AccessTokenError) as caught:
        validator.validate_request(**dpop_request(holder, token), scopes=["write:notes"])
    assert caught.value.status == 403
    assert 'scope="write:notes"' in caught.value.www_authenticate()


def test_required_dpop_refuses_bearer_tokens_with_a_dpop_challenge(keys, issuer_key, holder):
    validator = make_validator(keys, required=True)
    plain = issuer_key.sign(access_claims())
    with pytest.raises(AccessTokenError, match="DPoP-bound tokens only") as caught:
        validator.validate_request(authorization=f"Bearer {plain}", method="GET", url=URL)
    assert caught.value.www_authenticate().startswith(f'DPoP realm="api", {ALGS}, error=')
    with pytest.raises(TokenMissing) as missing:
        validator.validate_request(authorization=None, method="GET", url=URL)
    assert missing.value.www_authenticate() == f'DPoP realm="api", {ALGS}'
    token = bound_token(issuer_key, holder)
    assert validator.validate_request(**dpop_request(holder, token))["sub"] == "alice"


def test_no_token_names_both_schemes_when_dpop_is_optional(validator):
    with pytest.raises(TokenMissing) as caught:
        validator.validate_request(authorization="Basic YTpi", method="GET", url=URL)
    assert caught.value.www_authenticate() == f'Bearer realm="api", DPoP {ALGS}'


def test_a_nonce_is_handed_out_and_then_accepted(keys, issuer_key, holder):
    nonces = HmacNonces(b"k" * 32)
    validator = make_validator(keys, nonces=nonces)
    token = bound_token(issuer_key, holder)
    with pytest.raises(UseDPoPNonce) as caught:
        validator.validate_request(**dpop_request(holder, token))
    challenge = caught.value.headers()
    assert caught.value.status == 401
    assert 'error="use_dpop_nonce"' in challenge["WWW-Authenticate"]
    nonce = challenge["DPoP-Nonce"]
    assert nonces.accepts(nonce)
    assert validator.validate_request(**dpop_request(holder, token, nonce=nonce))["sub"] == "alice"
    with pytest.raises(UseDPoPNonce):
        validator.validate_request(**dpop_request(holder, token, nonce="made-up"))


def test_nonces_go_stale_after_two_windows(monkeypatch):
    nonces = HmacNonces(b"s" * 32, window_seconds=300)
    now = 1_700_000_000.0
    monkeypatch.setattr("accounts.resource_server.nonces.time.time", lambda: now)
    nonce = nonces.current()
    now += 300
    assert nonces.accepts(nonce)  # the previous window's still works
    now += 300
    assert not nonces.accepts(nonce)
    assert not HmacNonces(b"t" * 32).accepts(nonces.current())
    with pytest.raises(ValueError, match="16"):
        HmacNonces(b"short")


def test_the_memory_replay_cache_forgets_after_the_time_given():
    now = [100.0]
    cache = MemoryReplayCache(clock=lambda: now[0])
    assert cache.first_use("a", 5)
    assert not cache.first_use("a", 5)
    assert cache.first_use("b", 5)
    now[0] += 6
    assert cache.first_use("a", 5)


def test_a_policy_with_symmetric_algorithms_cannot_be_made():
    with pytest.raises(ValueError, match="asymmetric"):
        DPoPPolicy(algorithms=("HS256",))
    with pytest.raises(ValueError, match="iat_window"):
        DPoPPolicy(iat_window=0)


# --- the Django decorator, with the replay cache in Redis --------------------------------------


@pytest.fixture
def django_validator(settings, keys, monkeypatch):
    # A validator of its own, holding this test's keys only.
    monkeypatch.setattr("accounts.resource_server.conf._validators", {})
    settings.RESOURCE_SERVER_ISSUER = ISSUER
    settings.RESOURCE_SERVER_AUDIENCE = API
    validator = validator_from_settings()
    validator._jwks_uri = keys.jwks_uri
    return validator


@require_access_token(scopes=["read:notes"])
def notes(request):
    from django.http import JsonResponse

    return JsonResponse({"sub": request.access_token_claims["sub"]})


def django_get(path, token, dpop=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"DPoP {token}", **extra}
    if dpop is not None:
        headers["HTTP_DPOP"] = dpop
    return RequestFactory().get(path, **headers)


def test_the_decorator_takes_a_proof_once(django_validator, issuer_key, holder, redis_client):
    token = bound_token(issuer_key, holder)
    dpop = dpop_request(holder, token)["dpop"][0]
    assert notes(django_get("/notes", token, dpop)).status_code == 200
    assert redis_client.keys("*dpop-jti:*")  # shared by every process, in Redis
    replayed = notes(django_get("/notes", token, dpop))
    assert replayed.status_code == 401
    assert json.loads(replayed.content)["error"] == "invalid_dpop_proof"
    assert replayed["WWW-Authenticate"].startswith(f'DPoP realm="api", {ALGS}')
    assert replayed["Cache-Control"] == "no-store"


def test_the_decorator_refuses_a_bound_token_as_bearer(django_validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    response = notes(RequestFactory().get("/notes", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "invalid_token"


def test_the_decorator_checks_htu_against_the_public_base_url(
    settings, django_validator, issuer_key, holder
):
    token = bound_token(issuer_key, holder)
    public = "https://api.example.com/notes"
    # Behind a proxy the request's own host is an internal one: the proof names the public URL.
    proof_for_public = dpop_request(holder, token, url=public)["dpop"][0]
    assert notes(django_get("/notes", token, proof_for_public)).status_code == 401
    settings.RESOURCE_SERVER_BASE_URL = "https://api.example.com/"
    proof_for_public = dpop_request(holder, token, url=public)["dpop"][0]
    assert notes(django_get("/notes", token, proof_for_public)).status_code == 200


@pytest.mark.parametrize("base_url", ["https://api.example.com", ""])
@pytest.mark.parametrize(
    ("htu_path", "raw_uri"),
    [
        ("/notes/caf%C3%A9", None),  # non-ASCII: the decoded path never matched
        ("/notes/caf%c3%a9", None),  # escapes compare without case
        ("/notes/caf\u00e9", None),  # an IRI names the same URI
        ("/notes/a%2Fb", "/notes/a%2Fb?page=2"),  # an escaped slash, as the server saw it
        ("/notes/a%3Ab", "/notes/a%3Ab"),
    ],
)
def test_htu_names_the_path_as_the_client_wrote_it(
    settings, django_validator, issuer_key, holder, base_url, htu_path, raw_uri
):
    settings.RESOURCE_SERVER_BASE_URL = base_url
    origin = base_url or "http://testserver"
    token = bound_token(issuer_key, holder)
    dpop = dpop_request(holder, token, url=origin + htu_path)["dpop"][0]
    extra = {} if raw_uri is None else {"RAW_URI": raw_uri}
    request = RequestFactory().get(
        htu_path.replace("\u00e9", "%C3%A9"),
        HTTP_AUTHORIZATION=f"DPoP {token}",
        HTTP_DPOP=dpop,
        **extra,
    )
    response = notes(request)
    assert response.status_code == 200, response.content


def test_a_raw_path_that_is_not_the_requests_is_not_trusted(settings, django_validator):
    from accounts.resource_server.conf import request_url

    settings.RESOURCE_SERVER_BASE_URL = "https://api.example.com"
    # Mounted under a prefix by a proxy: the server's raw path lacks it; the decoded one is
    # what the API is reached at.
    request = RequestFactory().get("/api/notes/caf%C3%A9", RAW_URI="/notes/x")
    assert request_url(request) == "https://api.example.com/api/notes/caf%C3%A9"


def test_a_replay_cache_that_does_not_answer_is_503(
    django_validator, issuer_key, holder, dead_redis
):
    token = bound_token(issuer_key, holder)
    response = notes(django_get("/notes", token, dpop_request(holder, token)["dpop"][0]))
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "temporarily_unavailable"


def test_unusable_dpop_settings_are_503_not_500(settings, keys, issuer_key, holder, monkeypatch):
    monkeypatch.setattr("accounts.resource_server.conf._validators", {})
    settings.RESOURCE_SERVER_ISSUER = ISSUER
    settings.RESOURCE_SERVER_AUDIENCE = API
    settings.RESOURCE_SERVER_DPOP_ALGORITHMS = ("HS256",)
    token = bound_token(issuer_key, holder)
    response = notes(django_get("/notes", token, dpop_request(holder, token)["dpop"][0]))
    assert response.status_code == 503


def hostile_proof(holder, token, **claims):
    """A proof signed by the token's own key, with claims a hostile client chose."""
    from accounts.protocol.dpop import access_token_hash
    from accounts.protocol.signing_keys import public_jwk

    base = {"jti": "j", "htm": "GET", "htu": URL, "iat": int(time.time())}
    base["ath"] = access_token_hash(token)
    header = {"typ": "dpop+jwt", "jwk": public_jwk(holder.private_key)}
    return jwt.encode({**base, **claims}, holder.private_key, algorithm="ES256", headers=header)


HOSTILE_PROOF_CLAIMS = [
    {"iat": 10**400},
    {"iat": float("nan")},
    {"iat": 1e308},
    {"ath": "é"},
    {"ath": "\ud800"},
    {"ath": ["x"]},
    {"htu": "http://[::1"},
    {"htu": "http://testserver:99999/notes"},
    {"htm": {"GET": 1}},
]


@pytest.mark.parametrize("claims", HOSTILE_PROOF_CLAIMS)
def test_the_decorator_answers_a_hostile_proof_with_a_clean_401(
    django_validator, issuer_key, holder, claims
):
    token = bound_token(issuer_key, holder)
    response = notes(django_get("/notes", token, hostile_proof(holder, token, **claims)))
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "invalid_dpop_proof"
    assert response["WWW-Authenticate"].startswith(f'DPoP realm="api", {ALGS}')


@pytest.mark.parametrize("nonce", ["é", "\ud800", "x" * 5000, 42])
def test_a_hostile_nonce_is_answered_with_a_fresh_one(keys, issuer_key, holder, nonce):
    validator = make_validator(keys, nonces=HmacNonces(b"k" * 32))
    view = require_access_token(validator=validator)(lambda request: HttpResponse())
    token = bound_token(issuer_key, holder)
    response = view(django_get("/notes", token, hostile_proof(holder, token, nonce=nonce)))
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "use_dpop_nonce"
    assert response["DPoP-Nonce"]


# --- Django REST framework ---------------------------------------------------------------------


def test_drf_takes_a_bound_token_with_its_proof_once(validator, issuer_key, holder):
    view = notes_view(validator)
    token = bound_token(issuer_key, holder)
    dpop = dpop_request(holder, token)["dpop"][0]
    headers = {"HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": dpop}
    good = view(APIRequestFactory().get("/notes", **headers))
    assert (good.status_code, good.data) == (
        200,
        {"sub": "alice", "scopes": ["openid", "read:notes"]},
    )
    replayed = view(APIRequestFactory().get("/notes", **headers))
    assert replayed.status_code == 401
    assert 'error="invalid_dpop_proof"' in replayed["WWW-Authenticate"]


def test_drf_refuses_a_stolen_token(validator, issuer_key, holder, thief):
    view = notes_view(validator)
    token = bound_token(issuer_key, holder)
    as_bearer = view(APIRequestFactory().get("/notes", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert as_bearer.status_code == 401
    stolen = dpop_request(thief, token)["dpop"][0]
    headers = {"HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": stolen}
    assert view(APIRequestFactory().get("/notes", **headers)).status_code == 401
    missing = view(APIRequestFactory().get("/notes"))
    assert missing["WWW-Authenticate"] == f'Bearer realm="api", DPoP {ALGS}'


def test_proof_claims_never_reach_the_token_claims(validator, issuer_key, holder):
    token = bound_token(issuer_key, holder)
    request = dpop_request(holder, token)
    claims = validator.validate_request(**request)
    assert "htm" not in claims
    assert jwt.get_unverified_header(request["dpop"][0])["typ"] == "dpop+jwt"


@pytest.mark.parametrize("claims", [*HOSTILE_PROOF_CLAIMS, {"jti": "\ud800"}])
def test_drf_answers_a_hostile_proof_with_a_clean_401(validator, issuer_key, holder, claims):
    view = notes_view(validator)
    token = bound_token(issuer_key, holder)
    dpop = hostile_proof(holder, token, **claims)
    headers = {"HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": dpop}
    response = view(APIRequestFactory().get("/notes", **headers))
    # A strange but unique jti is a jti: the proof passes, once.
    expected = 200 if "jti" in claims else 401
    assert response.status_code == expected
    if expected == 401:
        assert 'error="invalid_dpop_proof"' in response["WWW-Authenticate"]
