"""accounts.protocol.step_up: what a requirement is, how it is read, whether a login meets it."""

import pytest

from accounts.protocol.step_up import (
    Authentication,
    AuthenticationRequirement,
    InvalidRequirement,
    shortfall,
)

MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
NOW = 1_700_000_000.0
GOLD_RECENT = AuthenticationRequirement(("gold",), 60)
FIVE_MINUTES = AuthenticationRequirement(max_age=300)


@pytest.mark.parametrize(
    ("requirement", "authentication", "missing"),
    [
        # No requirement: any login will do, even one that says nothing of itself.
        (AuthenticationRequirement(), Authentication(), None),
        # acr: one of the listed values, nothing else.
        (AuthenticationRequirement(("gold",)), Authentication("gold"), None),
        (AuthenticationRequirement(("gold", "silver")), Authentication("silver"), None),
        (AuthenticationRequirement(("gold",)), Authentication("silver"), "acr_not_accepted"),
        (AuthenticationRequirement(("gold",)), Authentication(None, NOW), "acr_missing"),
        (AuthenticationRequirement((MFA,)), Authentication(MFA), None),
        # max_age: within the age, plus the leeway (10 s in these cases).
        (AuthenticationRequirement(max_age=300), Authentication(None, NOW - 300), None),
        (AuthenticationRequirement(max_age=300), Authentication(None, NOW - 310), None),
        (AuthenticationRequirement(max_age=300), Authentication(None, NOW - 311), "auth_too_old"),
        (AuthenticationRequirement(max_age=300), Authentication("gold"), "auth_time_missing"),
        # A clock a little ahead is the leeway's business; a time far ahead is refused.
        (AuthenticationRequirement(max_age=300), Authentication(None, NOW + 10), None),
        (
            AuthenticationRequirement(max_age=300),
            Authentication(None, NOW + 3600),
            "auth_time_ahead",
        ),
        # max_age=0 (authenticate now): a login just made meets it, thanks to the leeway.
        (AuthenticationRequirement(max_age=0), Authentication(None, NOW - 3), None),
        (AuthenticationRequirement(max_age=0), Authentication(None, NOW - 60), "auth_too_old"),
        # Both: each must hold, the acr checked first.
        (GOLD_RECENT, Authentication("gold", NOW - 5), None),
        (GOLD_RECENT, Authentication("x", NOW - 500), "acr_not_accepted"),
        (GOLD_RECENT, Authentication("gold", NOW - 500), "auth_too_old"),
    ],
)
def test_whether_a_login_meets_a_requirement(requirement, authentication, missing):
    assert shortfall(requirement, authentication, now=NOW, leeway=10) == missing


def test_the_claims_a_login_is_judged_by():
    assert Authentication.from_claims({"acr": "gold", "auth_time": 1700000000}) == Authentication(
        "gold", 1700000000.0
    )
    # Claims of the wrong type say nothing: they are not a level, nor a time.
    assert Authentication.from_claims({"acr": 2, "auth_time": "yesterday"}) == Authentication()
    assert Authentication.from_claims({"acr": "", "auth_time": True}) == Authentication()
    assert Authentication.from_claims({}) == Authentication()


@pytest.mark.parametrize(
    "auth_time",
    [10**400, 1e300, float("nan"), float("inf"), -1, 0, True, "1700000000", [NOW], None],
)
def test_an_auth_time_that_is_no_usable_time_is_no_time(auth_time):
    # 10**400 overflowed a float; 1e300 no date can show; NaN passed every max_age.
    authentication = Authentication.from_claims({"acr": "gold", "auth_time": auth_time})
    assert authentication == Authentication("gold")
    missing = shortfall(FIVE_MINUTES, authentication, now=NOW, leeway=10)
    assert missing == "auth_time_missing"


@pytest.mark.parametrize("acr", ["x" * 201, "gold\n", "\x00", ["gold"], {"gold": 1}, 1])
def test_an_acr_that_is_no_short_printable_string_is_no_acr(acr):
    authentication = Authentication.from_claims({"acr": acr, "auth_time": NOW})
    assert authentication == Authentication(None, NOW)
    assert Authentication.from_claims({"acr": "x" * 200}).acr == "x" * 200


def test_a_session_keeps_no_auth_time_still_to_come():
    ahead = Authentication("gold", NOW + 3600)
    assert ahead.believable(now=NOW, leeway=10) == Authentication("gold")
    nearly = Authentication("gold", NOW + 10)
    assert nearly.believable(now=NOW, leeway=10) == nearly


@pytest.mark.parametrize(
    ("acr", "max_age", "expected"),
    [
        ("gold", None, AuthenticationRequirement(("gold",))),
        ("gold silver", None, AuthenticationRequirement(("gold", "silver"))),
        (["gold", MFA], 300, AuthenticationRequirement(("gold", MFA), 300)),
        (None, 0, AuthenticationRequirement(max_age=0)),
        (None, None, AuthenticationRequirement()),
    ],
)
def test_requirements_from_settings(acr, max_age, expected):
    assert AuthenticationRequirement.from_settings(acr, max_age) == expected


@pytest.mark.parametrize(
    ("acr", "max_age", "says"),
    [
        ("", None, "at least one value"),
        ([], None, "non-empty list"),
        ([1], None, "non-empty list"),
        (["two words"], None, "not a token"),
        ('say"what', None, "not a token"),
        ("<script>", None, "not a token"),
        ("x" * 201, None, "not a token"),
        (" ".join(f"v{n}" for n in range(11)), None, "at most 10"),
        (None, -1, "max_age"),
        (None, 1.5, "max_age"),
        (None, True, "max_age"),
        (None, "300", "max_age"),
    ],
)
def test_requirements_that_cannot_be_asked_for(acr, max_age, says):
    with pytest.raises(InvalidRequirement, match=says):
        AuthenticationRequirement.from_settings(acr, max_age)


@pytest.mark.parametrize(
    ("acr_values", "max_age", "expected"),
    [
        ("gold", None, AuthenticationRequirement(("gold",))),
        ("gold silver", "300", AuthenticationRequirement(("gold", "silver"), 300)),
        ("", "", AuthenticationRequirement()),
        (None, "0", AuthenticationRequirement(max_age=0)),
        # Spaces in a row, before or after: still the values between them.
        ("gold  silver", None, AuthenticationRequirement(("gold", "silver"))),
        (" gold ", None, AuthenticationRequirement(("gold",))),
        ("  ", "60", AuthenticationRequirement(max_age=60)),
    ],
)
def test_requirements_from_parameters(acr_values, max_age, expected):
    assert AuthenticationRequirement.from_parameters(acr_values, max_age) == expected


@pytest.mark.parametrize(
    ("acr_values", "max_age"),
    [
        ("gold\nsilver", None),  # space-delimited: one value, holding a newline
        ("gold\tsilver", None),
        ("gold", "-1"),
        ("gold", "1e3"),
        ("gold", "\uff15"),  # FULLWIDTH DIGIT FIVE: a digit, but not an ASCII one
        ("gold", "99999999999"),
    ],
)
def test_parameters_that_are_refused(acr_values, max_age):
    with pytest.raises(InvalidRequirement):
        AuthenticationRequirement.from_parameters(acr_values, max_age)


def test_what_the_login_request_asks_for():
    requirement = AuthenticationRequirement(("gold", MFA), 0)
    assert requirement.login_parameters() == {"acr_values": f"gold {MFA}", "max_age": "0"}
    assert AuthenticationRequirement().login_parameters() == {}
    assert not AuthenticationRequirement()
    assert AuthenticationRequirement(max_age=0)
