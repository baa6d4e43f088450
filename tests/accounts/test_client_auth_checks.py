"""The checks of client authentication, PAR and DPoP settings (accounts.E022-E028, W023): each
fires on its misconfiguration, names the setting, and never shows the key."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts import checks
from tests.client_keys import ec_pem, rsa_pem


def ids(messages):
    return {m.id for m in messages}


def test_the_modern_settings_at_their_defaults_pass(settings):
    assert checks.check_client_authentication(None) == []
    assert checks.check_pushed_authorization(None) == []
    assert checks.check_dpop(None) == []


@pytest.mark.parametrize("value", ["sometimes", "yes", "push"])
def test_e022_par_setting_must_be_auto_always_or_never(settings, value):
    settings.OIDC_USE_PAR = value
    messages = checks.check_pushed_authorization(None)
    assert ids(messages) == {"accounts.E022"}
    assert "OIDC_USE_PAR" in messages[0].msg


@pytest.mark.parametrize("value", ["AUTO", "Always", "never"])
def test_the_par_setting_ignores_case(settings, value):
    settings.OIDC_USE_PAR = value
    assert checks.check_pushed_authorization(None) == []


@pytest.mark.parametrize("value", ["client_secret_jwt", "tls_client_auth", "basic"])
def test_e023_unknown_client_auth_method(settings, value):
    settings.OIDC_CLIENT_AUTH_METHOD = value
    messages = checks.check_client_authentication(None)
    assert ids(messages) == {"accounts.E023"}
    assert "private_key_jwt" in (messages[0].hint or "")


def test_e024_private_key_jwt_needs_keys(settings):
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    messages = checks.check_client_authentication(None)
    assert ids(messages) == {"accounts.E024"}
    assert "OIDC_CLIENT_SIGNING_KEYS" in messages[0].msg


@pytest.mark.parametrize(
    ("keys", "algorithm", "says"),
    [
        ("not a key", "RS256", "No PEM private key"),
        (ec_pem(), "RS256", "not an RSA key"),
        (rsa_pem(), "ES256", "not a P-256 EC key"),
        (rsa_pem(), "HS256", "not a supported signing algorithm"),
        (
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----",
            "RS256",
            "not a readable",
        ),
    ],
)
def test_e025_a_client_key_that_cannot_sign_with_its_algorithm(settings, keys, algorithm, says):
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    settings.OIDC_CLIENT_SIGNING_KEYS = keys
    settings.OIDC_CLIENT_SIGNING_ALGORITHM = algorithm
    messages = checks.check_client_authentication(None)
    assert ids(messages) == {"accounts.E025"}
    assert says in messages[0].msg
    for line in keys.splitlines()[1:-1]:  # the key's body: never in a message
        assert line not in messages[0].msg


def test_private_key_jwt_with_a_usable_key_needs_no_secret(settings):
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    settings.OIDC_CLIENT_SIGNING_KEYS = rsa_pem()
    settings.OIDC_CLIENT_SIGNING_ALGORITHM = "PS256"
    settings.OIDC_CLIENT_SECRET = ""
    assert checks.check_client_authentication(None) == []
    assert checks.check_oidc_client(None) == []


def test_the_secret_is_still_required_for_the_secret_methods(settings):
    settings.OIDC_CLIENT_AUTH_METHOD = "client_secret_post"
    settings.OIDC_CLIENT_SECRET = ""
    assert ids(checks.check_oidc_client(None)) == {"accounts.E004"}


def test_e026_dpop_needs_keys(settings):
    settings.OIDC_USE_DPOP = True
    messages = checks.check_dpop(None)
    assert ids(messages) == {"accounts.E026"}
    assert "OIDC_DPOP_KEYS" in messages[0].msg


@pytest.mark.parametrize(("keys", "algorithm"), [(rsa_pem(), "ES256"), (ec_pem(), "PS256")])
def test_e027_a_dpop_key_that_cannot_sign_with_its_algorithm(settings, keys, algorithm):
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = keys
    settings.OIDC_DPOP_ALGORITHM = algorithm
    messages = checks.check_dpop(None)
    assert ids(messages) == {"accounts.E027"}
    assert "OIDC_DPOP_ALGORITHM" in messages[0].msg


def test_dpop_with_a_usable_key_passes(settings):
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = ec_pem()
    assert checks.check_dpop(None) == []


@pytest.mark.parametrize(
    ("dpop", "dpop_alg", "client", "client_alg", "position"),
    [
        (ec_pem(), "ES256", ec_pem(), "ES256", "1"),
        # The thumbprint is the key's: the same RSA key under two algorithms is one key.
        (rsa_pem(), "PS256", rsa_pem(), "RS256", "1"),
        (ec_pem("other") + ec_pem(), "ES256", ec_pem() + rsa_pem(), "ES256", None),
        (ec_pem("other") + ec_pem(), "ES256", ec_pem(), "ES256", "2"),
    ],
)
def test_w023_dpop_and_client_authentication_share_a_key(
    settings, dpop, dpop_alg, client, client_alg, position
):
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS, settings.OIDC_DPOP_ALGORITHM = dpop, dpop_alg
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    settings.OIDC_CLIENT_SIGNING_KEYS = client
    settings.OIDC_CLIENT_SIGNING_ALGORITHM = client_alg
    messages = checks.check_dpop(None)
    if position is None:  # the client keys cannot sign ES256 (E025 says so), nothing to compare
        assert messages == []
        return
    assert ids(messages) == {"accounts.W023"}
    assert f"key number {position}" in messages[0].msg
    assert "OIDC_CLIENT_SIGNING_KEYS" in messages[0].msg
    for line in dpop.splitlines()[1:-1]:
        assert line not in messages[0].msg + (messages[0].hint or "")


def test_separate_dpop_and_client_keys_pass(settings):
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = ec_pem()
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    settings.OIDC_CLIENT_SIGNING_KEYS = ec_pem("client-ec")
    settings.OIDC_CLIENT_SIGNING_ALGORITHM = "ES256"
    assert checks.check_dpop(None) == []


def test_e028_unknown_assertion_audience(settings):
    settings.OIDC_CLIENT_ASSERTION_AUDIENCE = "token_endpoint"
    messages = checks.check_client_authentication(None)
    assert ids(messages) == {"accounts.E028"}
    assert "OIDC_CLIENT_ASSERTION_AUDIENCE" in messages[0].msg


def test_manage_py_check_reports_bad_keys_without_printing_them(settings):
    pem = ec_pem()
    settings.OIDC_CLIENT_AUTH_METHOD = "private_key_jwt"
    settings.OIDC_CLIENT_SIGNING_KEYS = pem
    settings.OIDC_USE_DPOP = True
    settings.OIDC_DPOP_KEYS = rsa_pem()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemCheckError) as failed:
        call_command("check", stdout=out, stderr=err)
    report = str(failed.value) + out.getvalue() + err.getvalue()
    assert "accounts.E025" in report
    assert "accounts.E027" in report
    body = "".join(pem.splitlines()[1:-1])
    for secret in (body[:40], rsa_pem().splitlines()[1], "PRIVATE KEY-----\n"):
        assert secret not in report
