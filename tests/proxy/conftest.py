import json
from urllib.parse import urljoin

import pytest
import requests
from django.test import Client

from proxy.forwarding import forget_pool
from proxy.retries import forget_nonces
from tests.proxy.servers import EchoServer, SampleAPI
from tests.stack import Provider, Site, free_port, sign_in_at_provider

CALLBACK = "http://testserver/auth/callback/"


def upstreams_for(echo_url, api_url, live_url):
    """The allow-list every proxy test runs with: one upstream per auth mode and failure."""
    return {
        "live": {"url": live_url, "websocket": True, "max_message_bytes": 64 * 1024},
        "api": {"url": api_url, "auth": "required", "max_body_bytes": 256 * 1024 * 1024},
        "notes": {"url": api_url},  # the name the home page's demo calls
        "echo": {"url": echo_url + "/base", "max_body_bytes": 200 * 1024},
        "open": {"url": echo_url + "/open", "auth": "optional"},
        "public": {"url": echo_url + "/public", "auth": "none", "methods": ["GET", "HEAD"]},
        "slow": {"url": echo_url, "auth": "none", "read_timeout": 0.5},
        "dead": {"url": f"http://127.0.0.1:{free_port()}", "auth": "none"},
    }


@pytest.fixture(scope="session")
def echo_server():
    server = EchoServer().start()
    yield server
    server.stop()


@pytest.fixture
def echo(echo_server):
    echo_server.reset()
    yield echo_server
    echo_server.reset()


@pytest.fixture(scope="session")
def sample_api(provider):
    api = SampleAPI(provider.issuer).start()
    yield api
    api.stop()


@pytest.fixture
def proxy_settings(oidc_settings, echo, sample_api):
    """The in-process site, pointed at the real provider and the real upstreams."""
    oidc_settings.PROXY_UPSTREAMS = upstreams_for(echo.url, sample_api.url, sample_api.live_url)
    forget_pool()
    forget_nonces()
    yield oidc_settings
    forget_pool()
    forget_nonces()


@pytest.fixture(scope="session")
def live_edge():
    from tests.proxy.live_edge import LiveEdge

    edge = LiveEdge().start()
    yield edge
    edge.stop()


@pytest.fixture(params=["wsgi", "asgi"])
def path_kind(request):
    """Each proxy test runs twice: through the WSGI view (Django's test client) and through the
    ASGI edge (a real server in this process)."""
    return request.param


@pytest.fixture
def make_client(path_kind, request):
    """``make_client(**kwargs)``: a Django test ``Client``, or one whose proxied calls go through
    the live ASGI edge."""
    if path_kind == "wsgi":
        return Client
    from tests.proxy.live_edge import EdgeClient

    edge = request.getfixturevalue("live_edge")
    return lambda **kwargs: EdgeClient(Client(**kwargs), edge)


def login(client, username="alice"):
    """Log the Django test client in at the real provider."""
    response = client.get("/auth/login/", {"next": "/"})
    assert response.status_code == 302
    callback = sign_in_at_provider(
        requests.Session(), response["Location"], username, stop_at=CALLBACK
    )
    assert client.get(callback).status_code == 302
    return client


# --- the site under gunicorn, for streaming, memory and raw-HTTP tests --------------------------


class ProxyStack:
    def __init__(self):
        self.site_port = free_port()
        site = f"http://127.0.0.1:{self.site_port}"
        self.provider = Provider(
            redirect_uris=[f"{site}/auth/callback/"], post_logout_uris=[f"{site}/"]
        ).start()
        self.sample_api = SampleAPI(self.provider.issuer).start()
        self.echo = EchoServer().start()
        # One worker, so its memory can be measured; four threads, as in production.
        self.site = Site(
            self.provider,
            self.site_port,
            workers=1,
            PROXY_UPSTREAMS=json.dumps(
                upstreams_for(self.echo.url, self.sample_api.url, self.sample_api.live_url)
            ),
        ).start()
        self.url = self.site.url

    def stop(self):
        self.site.stop()
        self.echo.stop()
        self.sample_api.stop()
        self.provider.stop()

    def browser(self, username="alice"):
        """A logged-in ``requests`` session: the browser's cookie jar."""
        http = requests.Session()
        start = http.get(self.url + "/auth/login/", allow_redirects=False, timeout=10)
        callback = sign_in_at_provider(
            http,
            urljoin(self.url, start.headers["Location"]),
            username,
            stop_at=self.url + "/auth/callback/",
        )
        assert http.get(callback, allow_redirects=False, timeout=10).status_code == 302
        return http


@pytest.fixture(scope="session")
def proxy_stack():
    stack = ProxyStack()
    yield stack
    stack.stop()


@pytest.fixture
def stack(proxy_stack):
    proxy_stack.echo.reset()
    yield proxy_stack
    proxy_stack.echo.reset()
