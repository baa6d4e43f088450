"""Which form parameters ask the provider for another API's token, preset by preset."""

import pytest

from accounts.tokens.targets import ApiTarget


@pytest.mark.parametrize(
    ("provider", "target", "parameters"),
    [
        ("generic", ApiTarget("https://api.test", None), {"resource": "https://api.test"}),
        (
            "generic",
            ApiTarget("https://api.test", "read"),
            {"resource": "https://api.test", "scope": "read"},
        ),
        ("auth0", ApiTarget("https://api.test", None), {"audience": "https://api.test"}),
        ("keycloak", ApiTarget("api-client", None), {"scope": "api-client"}),
        ("entra", ApiTarget("api://app", "api://app/.default"), {"scope": "api://app/.default"}),
    ],
)
def test_parameters_follow_the_preset(settings, provider, target, parameters):
    settings.OIDC_PROVIDER = provider
    assert target.parameters() == parameters


def test_each_audience_and_scope_is_kept_apart():
    keys = {
        ApiTarget("https://api.test", None).key,
        ApiTarget("https://api.test", "read").key,
        ApiTarget("https://api.test", "write").key,
        ApiTarget("https://other.test", None).key,
    }
    assert len(keys) == 4
    assert ApiTarget("https://api.test", None).key == "https://api.test"
