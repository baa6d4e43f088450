"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0, section 2.6): each rule with a
crafted token, against the real view, Redis and session index."""

import time
import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import OIDCIdentity
from accounts.oidc.discovery import ProviderMetadata
from accounts.sessions.index import index_session
from accounts.sessions.store import SessionStore
from tests.token_factory import CLIENT_ID, ISSUER, JWKS_URI, SigningKey

pytestmark = pytest.mark.django_db

EVENT = "http://schemas.openid.net/event/backchannel-logout"
URL = "/auth/backchannel-logout/"


@pytest.fixture(autouse=True)
def provider_metadata(monkeypatch, settings, published):
    settings.OIDC_CLIENT_ID = CLIENT_ID
    metadata = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint="https://issuer.test/auth",
        token_endpoint="https://issuer.test/token",
        jwks_uri=JWKS_URI,
    )
    monkeypatch.setattr("accounts.backchannel.provider_metadata", lambda: metadata)


def logout_claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
        "sub": "alice",
        "sid": "sid-1",
        "events": {EVENT: {}},
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def session_for(user, sid):
    """A logged-in session of ``user`` that the provider knows as ``sid``."""
    client = Client()
    client.force_login(user)
    store = SessionStore(client.cookies["sessionid"].value)
    activity = store.read_record("activity")
    store.write_record("activity", {**activity, "sid": sid})
    index_session(user.pk, store.session_key, sid, 3600)  # type: ignore[arg-type]
    return client


def logged_in(client):
    return "_auth_user_id" in SessionStore(client.cookies["sessionid"].value).load()


@pytest.fixture
def alice():
    user = User.objects.create_user("alice")
    OIDCIdentity.objects.create(user=user, issuer=ISSUER, subject="alice")
    return user


def post(token):
    # As providers send it (section 2.5): a form-urlencoded body.
    body = urlencode({"logout_token": token})
    return Client().post(URL, body, content_type="application/x-www-form-urlencoded")


def test_sid_ends_that_session_only(key, alice):
    one, two = session_for(alice, "sid-1"), session_for(alice, "sid-2")
    response = post(key.sign(logout_claims()))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert not logged_in(one)
    assert logged_in(two)


def test_sub_alone_ends_every_session_of_the_user(key, alice):
    one, two = session_for(alice, "sid-1"), session_for(alice, "sid-2")
    bob = User.objects.create_user("bob")
    OIDCIdentity.objects.create(user=bob, issuer=ISSUER, subject="bob")
    bobs = session_for(bob, "sid-3")
    assert post(key.sign(logout_claims(sid=None))).status_code == 200
    assert not logged_in(one)
    assert not logged_in(two)
    assert logged_in(bobs)


def test_already_logged_out_is_still_a_success(key):
    response = post(key.sign(logout_claims(sid="unknown")))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_logout_token_needs_no_typ_header(key, alice):
    session = session_for(alice, "sid-1")
    assert post(key.sign(logout_claims(), headers={"typ": "JWT"})).status_code == 200
    assert not logged_in(session)


def test_a_replayed_jti_is_refused(key, alice):
    token = key.sign(logout_claims())
    assert post(token).status_code == 200
    replay = post(token)
    assert replay.status_code == 400
    assert "already used" in replay.json()["error_description"]


def attacker_token(**overrides):
    return SigningKey("key-1").sign(logout_claims(**overrides))


REJECTIONS = {
    "bad signature": (lambda key: attacker_token(), "signature"),
    "alg none": (
        lambda key: __import__("jwt").encode(
            logout_claims(), None, algorithm="none", headers={"kid": "key-1"}
        ),
        "'none'",
    ),
    "wrong issuer": (lambda key: key.sign(logout_claims(iss="https://evil.test")), "issuer"),
    "wrong audience": (lambda key: key.sign(logout_claims(aud="other")), "another client"),
    "missing iat": (lambda key: key.sign(logout_claims(iat=None)), "'iat'"),
    "stale iat": (
        lambda key: key.sign(logout_claims(iat=int(time.time()) - 7200)),
        "too long ago",
    ),
    "missing exp": (lambda key: key.sign(logout_claims(exp=None)), "'exp'"),
    "expired": (
        lambda key: key.sign(logout_claims(iat=int(time.time()) - 300, exp=int(time.time()) - 200)),
        "expired",
    ),
    "missing jti": (lambda key: key.sign(logout_claims(jti=None)), "'jti'"),
    "neither sub nor sid": (
        lambda key: key.sign(logout_claims(sub=None, sid=None)),
        "neither 'sub' nor 'sid'",
    ),
    "sid not a string": (lambda key: key.sign(logout_claims(sid=123)), "'sid' is not"),
    "sub empty": (lambda key: key.sign(logout_claims(sub="")), "'sub' is not"),
    "no events": (lambda key: key.sign(logout_claims(events=None)), "event"),
    "other event": (
        lambda key: key.sign(logout_claims(events={"urn:other": {}})),
        "event",
    ),
    "event not an object": (
        lambda key: key.sign(logout_claims(events={EVENT: "yes"})),
        "event",
    ),
    "nonce present": (lambda key: key.sign(logout_claims(nonce="n")), "nonce"),
    "hs256 with client secret": (
        lambda key: __import__("jwt").encode(
            logout_claims(), "bff-test-secret-0123456789abcdefghijkl", algorithm="HS256"
        ),
        "'HS256'",
    ),
    "not a jwt": (lambda key: "garbage", "well-formed"),
    **{
        f"{name} header": (
            lambda key, name=name, value=value: SigningKey("key-1").sign(  # type: ignore[misc]
                logout_claims(), headers={name: value}
            ),
            "names its own signing key",
        )
        for name, value in [
            ("jku", "https://evil.test/jwks"),
            ("x5u", "https://evil.test/cert.pem"),
            ("jwk", SigningKey("key-1").public_jwk),
            ("x5c", ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        ]
    },
}


@pytest.mark.parametrize("case", REJECTIONS)
def test_each_rule_is_enforced(key, alice, case):
    session = session_for(alice, "sid-1")
    make, message = REJECTIONS[case]
    response = post(make(key))
    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "invalid_request"
    assert message in response.json()["error_description"]
    assert logged_in(session)


def test_missing_logout_token_is_400():
    response = Client().post(URL, "state=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "no logout_token" in response.json()["error_description"]


def test_only_post_is_accepted():
    assert Client().get(URL).status_code == 405


def test_no_csrf_token_is_needed(key, alice):
    session = session_for(alice, "sid-1")
    client = Client(enforce_csrf_checks=True)
    body = urlencode({"logout_token": key.sign(logout_claims())})
    response = client.post(URL, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not logged_in(session)


def test_an_absurd_exp_is_still_remembered_for_replay(key, alice):
    token = key.sign(logout_claims(exp=10**17))
    assert post(token).status_code == 200
    assert post(token).status_code == 400


def test_a_multipart_body_is_refused(key, alice):
    session = session_for(alice, "sid-1")
    # The test client sends multipart/form-data by default; the spec says form-urlencoded.
    response = Client().post(URL, {"logout_token": key.sign(logout_claims())})
    assert response.status_code == 400
    assert "form-urlencoded" in response.json()["error_description"]
    assert logged_in(session)


def test_form_urlencoded_is_accepted(key, alice):
    session = session_for(alice, "sid-1")
    body = urlencode({"logout_token": key.sign(logout_claims())})
    response = Client().post(URL, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not logged_in(session)


def test_sid_and_sub_of_different_users_end_nothing(key, alice):
    mallory = User.objects.create_user("mallory")
    OIDCIdentity.objects.create(user=mallory, issuer=ISSUER, subject="mallory")
    alices = session_for(alice, "sid-1")
    response = post(key.sign(logout_claims(sub="mallory", sid="sid-1")))
    assert response.status_code == 400
    assert "different users" in response.json()["error_description"]
    assert logged_in(alices)


def test_the_same_sub_at_another_issuer_is_someone_else(key, alice):
    other = User.objects.create_user("alice-elsewhere")
    OIDCIdentity.objects.create(user=other, issuer="https://other-issuer.test", subject="alice")
    alices, others = session_for(alice, "sid-1"), session_for(other, "sid-9")
    assert post(key.sign(logout_claims(sid=None))).status_code == 200
    assert not logged_in(alices)
    assert logged_in(others)
