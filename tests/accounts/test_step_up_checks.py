"""accounts.W015 and W016: settings that would quietly defeat step-up and parallel logins."""

import pytest

from accounts import checks


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


@pytest.mark.parametrize("limit", [1, 0, "50"])
def test_w016_too_few_logins_in_progress_for_two_tabs(settings, limit):
    settings.OIDC_MAX_STATES = limit
    messages = checks.check_parallel_logins(None)
    assert ids(messages) == {"accounts.W016"}
    assert "OIDC_MAX_STATES" in messages[0].msg


@pytest.mark.parametrize("limit", [2, 50])
def test_w016_enough_logins_in_progress(settings, limit):
    settings.OIDC_MAX_STATES = limit
    assert checks.check_parallel_logins(None) == []
