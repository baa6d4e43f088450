"""accounts.resource_server (and its drf module): what your own API checks in a bearer token.

Real tokens come from a login at the real local provider; crafted ones are signed with
test keys published by a key server on a port-0 socket.
"""

import json
import time

import jwt
import pytest
import requests
from django.http import JsonResponse
from django.test import Client, RequestFactory

from accounts.resource_server import (
    AccessTokenError,
    AccessTokenValidator,
    InsufficientScope,
    KeyUnavailable,
    require_access_token,
)
from accounts.tokens.record import load_tokens
from tests.accounts.resource_server.keys import API, ISSUER, KeyServer, access_claims
from tests.stack import sign_in_at_provider
from tests.token_factory import SigningKey


@pytest.fixture(scope="module")
def key():
    return SigningKey("rs-1")


@pytest.fixture
def keys(key):
    server = KeyServer(key)
    yield server
    server.stop()


@pytest.fixture
def validator(keys):
    return AccessTokenValidator(issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri)


def test_a_good_token_gives_its_claims(validator, key):
    claims = validator.validate(key.sign(access_claims()))
    assert claims["sub"] == "alice"


def test_audience_may_be_a_list_holding_the_api(validator, key):
    assert validator.validate(key.sign(access_claims(aud=["other", API])))["sub"] == "alice"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (access_claims(aud="http://other-api.test"), "audience"),
        (access_claims(aud=None), "aud"),
        (access_claims(iss="https://evil.test"), "issuer"),
        (access_claims(exp=int(time.time()) - 120), "expired"),
        (access_claims(exp=None), "exp"),
        (access_claims(iat=None), "iat"),
        (access_claims(sub=None), "sub"),
        (access_claims(nbf=int(time.time()) + 600), "not yet valid"),
    ],
)
def test_claims_that_are_refused(validator, key, claims, reason):
    with pytest.raises(AccessTokenError, match=f"(?i){reason}"):
        validator.validate(key.sign(claims))


def test_small_clock_skew_is_tolerated(validator, key):
    assert validator.validate(key.sign(access_claims(exp=int(time.time()) - 5)))


HOSTILE_CLAIM_VALUES = [
    True,
    -1,
    10**400,
    -(10**400),
    1e308,
    float("nan"),
    float("inf"),
    "",
    "NaN",
    "1e400",
    "é",
    "\ud800",
    "x" * 3000,
    [],
    [1],
    {},
    {"a": None},
]


def signed_as_is(key, claims):
    """Signed by the issuer's key over exactly these claims (PyJWT's encoder checks some)."""
    payload = json.dumps(claims).encode()
    return jwt.PyJWS().encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})


def outcome(check):
    try:
        check()
    except AccessTokenError as refusal:
        return refusal.status
    except Exception as exc:  # what this is about: anything else is a 500
        return f"{type(exc).__name__}: {exc}"[:100]
    return 200


@pytest.mark.parametrize(
    "claim", ["exp", "nbf", "iat", "iss", "aud", "sub", "scope", "scp", "cnf", "client_id"]
)
def test_any_value_of_a_signed_claim_ends_as_an_answer(validator, key, claim):
    """Even the issuer's own signature over odd values (a huge or NaN time, a list for a
    string) gets an answer: refused, or for claims the API does not read, accepted."""
    wrong = {}
    for value in HOSTILE_CLAIM_VALUES:
        token = signed_as_is(key, access_claims(**{claim: value}))
        got = outcome(lambda t=token: validator.validate(t, scopes=["read:notes"]))
        request = outcome(
            lambda t=token: validator.validate_request(
                authorization=f"DPoP {t}", dpop=["x"], method="GET", url="https://a/"
            )
        )
        if not isinstance(got, int) or not isinstance(request, int):
            wrong[repr(value)[:30]] = (got, request)
    assert wrong == {}
    # Times must be times: none of these is one.
    if claim in ("exp", "nbf", "iat"):
        for value in (float("nan"), float("inf"), "", "NaN", "1e400", "é", [], {}):
            with pytest.raises(AccessTokenError):
                validator.validate(signed_as_is(key, access_claims(**{claim: value})))


def test_alg_none_is_refused(validator):
    token = jwt.encode(access_claims(), None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(AccessTokenError, match="none"):
        validator.validate(token)


def test_hs256_keyed_with_the_public_key_is_refused(validator, key):
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": "rs-1"}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(access_claims()).encode())
    import hashlib
    import hmac

    signature = hmac.new(key.public_pem, header + b"." + payload, hashlib.sha256).digest()
    token = b".".join([header, payload, jwt.utils.base64url_encode(signature)]).decode()
    with pytest.raises(AccessTokenError, match="HS256"):
        validator.validate(token)


def test_another_rsa_algorithm_with_the_right_key_is_refused(validator, key):
    with pytest.raises(AccessTokenError, match="RS384"):
        validator.validate(key.sign(access_claims(), alg="RS384"))


def test_a_token_signed_by_another_key_is_refused(validator):
    forged = SigningKey("rs-1").sign(access_claims())
    with pytest.raises(AccessTokenError, match="invalid"):
        validator.validate(forged)


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c"])
def test_a_token_naming_its_own_key_is_refused(validator, header):
    attacker = SigningKey("rs-1")
    value = {
        "jwk": attacker.public_jwk,
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],  # never parsed
    }.get(header, "https://evil.test/jwks")
    token = attacker.sign(access_claims(), headers={header: value})
    with pytest.raises(AccessTokenError, match="own signing key"):
        validator.validate(token)


def test_unknown_kid_refetches_the_keys_at_most_once_per_interval(keys, key):
    validator = AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri, min_refetch_interval=60
    )
    validator.validate(key.sign(access_claims()))
    assert keys.fetches == 1
    rotated = SigningKey("rs-2")
    keys.keys.append(rotated)
    # Fetched less than a minute ago: an unknown kid does not refetch (forged kids are cheap).
    with pytest.raises(AccessTokenError, match="does not publish"):
        validator.validate(rotated.sign(access_claims()))
    assert keys.fetches == 1


def test_a_rotated_key_is_found_by_refetching(keys, key):
    validator = AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri, min_refetch_interval=0
    )
    validator.validate(key.sign(access_claims()))
    rotated = SigningKey("rs-2")
    keys.keys.append(rotated)
    assert validator.validate(rotated.sign(access_claims()))["sub"] == "alice"
    assert keys.fetches == 2


def test_keys_that_cannot_be_fetched_refuse_with_503():
    validator = AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri="http://127.0.0.1:9/jwks", http_timeout=1
    )
    with pytest.raises(KeyUnavailable) as caught:
        validator.validate(SigningKey().sign(access_claims()))
    assert caught.value.status == 503


def test_keys_already_fetched_outlive_an_outage_of_the_key_endpoint(keys, key):
    validator = AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri, jwks_ttl=0, http_timeout=1
    )
    validator.validate(key.sign(access_claims()))
    keys.stop()
    assert validator.validate(key.sign(access_claims()))["sub"] == "alice"


def test_scopes_are_required_when_asked(validator, key):
    token = key.sign(access_claims(scope="openid read:notes"))
    assert validator.validate(token, scopes=["read:notes"])
    with pytest.raises(InsufficientScope) as caught:
        validator.validate(token, scopes=["write:notes"])
    assert caught.value.status == 403
    assert 'scope="write:notes"' in caught.value.www_authenticate()


def test_at_jwt_type_is_required_when_asked(keys, key):
    validator = AccessTokenValidator(
        issuer=ISSUER, audience=API, jwks_uri=keys.jwks_uri, require_at_jwt_type=True
    )
    with pytest.raises(AccessTokenError, match="at\\+jwt"):
        validator.validate(key.sign(access_claims()))
    assert validator.validate(key.sign(access_claims(), headers={"typ": "at+jwt"}))


# --- real tokens from the real provider --------------------------------------------------------


@pytest.fixture
def real_token(oidc_settings):
    """The access token a real login at the local provider gives (for the sample API)."""
    client = Client()
    authorize = client.get("/auth/login/", {"next": "/"})["Location"]
    callback = sign_in_at_provider(
        requests.Session(), authorize, "alice", stop_at="http://testserver/auth/callback/"
    )
    assert client.get(callback).status_code == 302
    return load_tokens(client.session).access_token  # type: ignore[union-attr]


@pytest.mark.django_db
@pytest.mark.integration
def test_the_providers_access_token_passes_with_discovery(real_token, provider):
    validator = AccessTokenValidator(issuer=provider.issuer, audience=API, require_at_jwt_type=True)
    claims = validator.validate(real_token)
    assert claims["sub"] == "alice"
    assert claims["client_id"] == provider.client_id


@pytest.mark.django_db
@pytest.mark.integration
def test_the_providers_token_is_refused_for_another_audience_or_issuer(real_token, provider):
    with pytest.raises(AccessTokenError, match=r"(?i)audience"):
        AccessTokenValidator(issuer=provider.issuer, audience="https://other.test").validate(
            real_token
        )
    jwks_uri = provider.discovery()["jwks_uri"]
    with pytest.raises(AccessTokenError, match=r"(?i)issuer"):
        AccessTokenValidator(
            issuer="https://issuer.test", audience=API, jwks_uri=jwks_uri
        ).validate(real_token)
    with pytest.raises(KeyUnavailable):
        # Discovery's issuer must match exactly, trailing slash included.
        AccessTokenValidator(issuer=provider.issuer + "/", audience=API).validate(real_token)


@pytest.mark.django_db
@pytest.mark.integration
def test_a_tampered_provider_token_is_refused(real_token, provider):
    header, payload, signature = real_token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["sub"] = "mallory"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    validator = AccessTokenValidator(issuer=provider.issuer, audience=API)
    with pytest.raises(AccessTokenError, match="invalid"):
        validator.validate(f"{header}.{forged_payload}.{signature}")


# --- the Django view decorator -----------------------------------------------------------------


@pytest.fixture
def notes_view(validator):
    @require_access_token(scopes=["read:notes"], validator=validator)
    def notes(request):
        return JsonResponse({"sub": request.access_token_claims["sub"]})

    return notes


def test_decorator_lets_a_good_token_through(notes_view, key):
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {key.sign(access_claims())}")
    response = notes_view(request)
    assert response.status_code == 200
    assert json.loads(response.content) == {"sub": "alice"}


def test_decorator_without_token_is_401_with_a_bare_challenge(notes_view):
    response = notes_view(RequestFactory().get("/"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", DPoP algs="RS256 PS256 ES256"'


def test_decorator_with_a_bad_token_is_401_invalid_token(notes_view, key):
    token = key.sign(access_claims(aud="elsewhere"))
    response = notes_view(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert json.loads(response.content)["error"] == "invalid_token"


def test_decorator_without_the_scope_is_403(notes_view, key):
    token = key.sign(access_claims(scope="openid"))
    response = notes_view(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_decorator_reads_its_validator_from_settings(settings, keys, key):
    settings.RESOURCE_SERVER_ISSUER = ISSUER
    settings.RESOURCE_SERVER_AUDIENCE = API

    @require_access_token()
    def view(request):
        return JsonResponse({"ok": True})

    from accounts.resource_server import validator_from_settings

    validator_from_settings()._jwks_uri = keys.jwks_uri
    token = key.sign(access_claims())
    assert view(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")).status_code == 200


# --- Django REST framework ---------------------------------------------------------------------


def test_drf_authentication_class(validator, key):
    from rest_framework.test import APIRequestFactory

    from tests.accounts.resource_server.drf_views import notes_view

    view = notes_view(validator)
    factory = APIRequestFactory()
    missing = view(factory.get("/"))
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="api", DPoP algs="RS256 PS256 ES256"'
    bad = view(factory.get("/", HTTP_AUTHORIZATION="Bearer not.a.jwt"))
    assert bad.status_code == 401
    good = view(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {key.sign(access_claims())}"))
    assert good.status_code == 200
    assert good.data == {"sub": "alice", "scopes": ["openid", "read:notes"]}
