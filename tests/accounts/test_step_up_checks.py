"""accounts.W015, W021 and W022: settings that would quietly defeat step-up and logins in
progress, or that no longer do anything."""

import pytest

from accounts import checks
from accounts.conf import accounts_settings


def ids(messages):
    return {m.id for m in messages}


@pytest.mark.parametrize("params", [{"acr_values": "gold"}, {"max_age": "0", "x": "1"}])
def test_w015_step_up_parameters_sent_with_every_login_but_never_checked(settings, params):
    settings.OIDC_EXTRA_AUTH_PARAMS = params
    messages = checks.check_step_up_parameters(None)
    assert ids(messages) == {"accounts.W015"}
    assert "OIDC_EXTRA_AUTH_PARAMS" in messages[0].msg
    assert "login_required(acr=" in str(messages[0].hint)


def test_w015_other_extra_parameters_are_fine(settings):
    settings.OIDC_EXTRA_AUTH_PARAMS = {"access_type": "offline"}
    assert checks.check_step_up_parameters(None) == []


@pytest.mark.parametrize("value", [0, -1, "soon", 1.5, True, None])
def test_w021_a_login_timeout_that_is_not_seconds_is_replaced_by_the_default(settings, value):
    settings.OIDC_LOGIN_TIMEOUT = value
    messages = checks.check_login_timeout(None)
    assert ids(messages) == {"accounts.W021"}
    assert "OIDC_LOGIN_TIMEOUT" in messages[0].msg
    assert "900 is used" in messages[0].msg
    assert accounts_settings.OIDC_LOGIN_TIMEOUT == 900


def test_w021_a_login_timeout_too_short_to_log_in(settings):
    settings.OIDC_LOGIN_TIMEOUT = 20
    messages = checks.check_login_timeout(None)
    assert ids(messages) == {"accounts.W021"}
    assert "refused as expired" in messages[0].msg
    assert accounts_settings.OIDC_LOGIN_TIMEOUT == 20  # a warning: it is what was asked for


@pytest.mark.parametrize("value", [60, 900, "1800"])
def test_w021_reasonable_login_timeouts(settings, value):
    settings.OIDC_LOGIN_TIMEOUT = value
    assert checks.check_login_timeout(None) == []
    used = accounts_settings.OIDC_LOGIN_TIMEOUT
    assert used == int(value)


@pytest.mark.parametrize("name", ["OIDC_MAX_STATES", "OIDC_STATE_SIZE"])
def test_w022_mozilla_settings_for_logins_in_the_session_are_not_read(settings, name):
    setattr(settings, name, 50)
    messages = checks.check_unread_login_settings(None)
    assert ids(messages) == {"accounts.W022"}
    assert name in messages[0].msg


def test_w022_is_quiet_when_none_is_set():
    assert checks.check_unread_login_settings(None) == []
