import pytest
import redis
from django.conf import settings as django_settings

from accounts.oidc.discovery import forget_provider_metadata
from accounts.oidc.dpop_client import provider_nonces
from accounts.oidc.jwks import signing_keys
from tests.stack import Provider, Site, free_port

SECOND_API = "http://127.0.0.1:8003"


@pytest.fixture(scope="session")
def redis_client():
    url = django_settings.REDIS_URL
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not answering at {url}; start it (./dev/test does) and run again.")
    return client


@pytest.fixture(autouse=True)
def _fresh_state(redis_client):
    """Every test starts with an empty test database in Redis and cold per-process caches."""
    redis_client.flushdb()
    forget_provider_metadata()
    signing_keys.clear()
    provider_nonces.clear()
    yield
    forget_provider_metadata()
    signing_keys.clear()
    provider_nonces.clear()


@pytest.fixture(scope="session")
def site_port():
    return free_port()


@pytest.fixture(scope="session")
def provider(site_port):
    """The real local provider. It knows two sites: the in-process test client (testserver)
    and the gunicorn site of the end-to-end tests."""
    sites = ["http://testserver", f"http://127.0.0.1:{site_port}"]
    p = Provider(
        redirect_uris=[f"{s}/auth/callback/" for s in sites],
        post_logout_uris=[f"{s}/" for s in sites],
        CLIENT_BACKCHANNEL_LOGOUT_URI=f"http://127.0.0.1:{site_port}/auth/backchannel-logout/",
        # A second API, for the tests of tokens for other audiences.
        API_EXTRA_AUDIENCES=SECOND_API,
    ).start()
    yield p
    p.stop()


@pytest.fixture
def oidc_settings(settings, provider):
    """Point the in-process site at the real provider."""
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = provider.client_id
    settings.OIDC_CLIENT_SECRET = provider.client_secret
    settings.OIDC_RP_CLIENT_ID = provider.client_id
    return settings


@pytest.fixture(scope="session")
def site(provider, site_port):
    s = Site(provider, site_port).start()
    yield s
    s.stop()


@pytest.fixture
def redis_commands(monkeypatch):
    """The Redis commands this process sends from now on, by name, in order (a pipeline's too)."""
    import redis.client
    import redis.connection

    sent = []
    original = redis.connection.Connection.send_command
    original_pipeline = redis.client.Pipeline._execute_pipeline

    def counting(self, *args, **kwargs):
        sent.append(args[0])
        return original(self, *args, **kwargs)

    def counting_pipeline(self, connection, commands, raise_on_error):
        sent.extend(args[0] for args, _options in commands)
        return original_pipeline(self, connection, commands, raise_on_error)

    monkeypatch.setattr(redis.connection.Connection, "send_command", counting)
    monkeypatch.setattr(redis.client.Pipeline, "_execute_pipeline", counting_pipeline)
    return sent


@pytest.fixture
def dead_redis(settings):
    """Both caches pointed at a port where no Redis answers."""
    settings.CACHES = {
        alias: {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
        for alias in ("default", "sessions")
    }
