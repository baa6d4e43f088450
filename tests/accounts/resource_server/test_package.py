"""accounts.resource_server as a package: every public name is importable from the top, and the
core (what dev/sample_api uses) works where Django cannot even be imported."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import accounts.resource_server
from tests.accounts.resource_server.keys import API, ISSUER, KeyServer, access_claims
from tests.token_factory import SigningKey

ROOT = Path(__file__).resolve().parents[3]

# Every public name the package offered when it was one module.
PUBLIC_NAMES = [
    "AccessTokenError",
    "AccessTokenValidator",
    "InsufficientScope",
    "KeyUnavailable",
    "TokenMissing",
    "ViewFunc",
    "bearer_token",
    "require_access_token",
    "token_scopes",
    "validator_from_settings",
]


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_every_public_name_is_importable_from_the_package(name):
    module = importlib.import_module("accounts.resource_server")
    assert getattr(module, name) is not None
    assert name in module.__all__


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError):
        accounts.resource_server.no_such_name  # noqa: B018


def run_without_django(script, *args):
    """Run ``script`` in a fresh interpreter where any ``import django`` fails."""
    preamble = "import sys\nsys.modules['django'] = None  # import django now raises ImportError\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-c", preamble + script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )


# What dev/sample_api does: validate, check scopes, turn a refusal into a status.
SAMPLE_API_USE = """
from accounts.resource_server import (
    AccessTokenError, AccessTokenValidator, bearer_token, token_scopes
)
issuer, audience, jwks_uri, token = sys.argv[1:]
validator = AccessTokenValidator(issuer=issuer, audience=audience, jwks_uri=jwks_uri)
claims = validator.validate(bearer_token("Bearer " + token), scopes=["read:notes"])
try:
    validator.validate(token, scopes=["write:notes"])
except AccessTokenError as error:
    refused = error.status
print(claims["sub"], " ".join(sorted(token_scopes(claims))), refused)
"""


def test_the_core_validates_a_token_without_django():
    key = SigningKey("rs-1")
    keys = KeyServer(key)
    try:
        token = key.sign(access_claims())
        result = run_without_django(SAMPLE_API_USE, ISSUER, API, keys.jwks_uri, token)
    finally:
        keys.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["alice", "openid", "read:notes", "403"]


def test_the_django_names_need_django():
    result = run_without_django("from accounts.resource_server import require_access_token\n")
    assert result.returncode != 0
    assert "ImportError" in result.stderr or "ModuleNotFoundError" in result.stderr
