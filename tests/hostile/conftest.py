import pytest

from accounts.signals import session_ended
from tests.hostile.provider import HostileProvider


@pytest.fixture(scope="session")
def hostile_server():
    provider = HostileProvider(site_url="http://testserver").start()
    yield provider
    provider.stop()


@pytest.fixture
def hostile(hostile_server, settings):
    """The hostile provider, honest again, with the in-process site pointed at it."""
    hostile_server.reset()
    settings.OIDC_ISSUER = hostile_server.issuer
    settings.OIDC_CLIENT_ID = hostile_server.client_id
    settings.OIDC_RP_CLIENT_ID = hostile_server.client_id
    settings.OIDC_CLIENT_SECRET = hostile_server.client_secret
    return hostile_server


@pytest.fixture
def ended():
    """The reasons of the sessions ended during the test, in order."""
    reasons = []

    def on_ended(sender, request, user, reason, **kwargs):
        reasons.append(reason)

    session_ended.connect(on_ended)
    yield reasons
    session_ended.disconnect(on_ended)
