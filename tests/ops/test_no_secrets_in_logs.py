"""No token, code, cookie or secret in any log line: the end-to-end flows run with logging at
DEBUG, and the captured logs of every process are searched for each secret the test saw."""

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.proxy.servers import SampleAPI
from tests.stack import (
    Provider,
    Site,
    confirm_logout_at_provider,
    free_port,
    sign_in_at_provider,
    stored_token_records,
)

pytestmark = pytest.mark.integration


def test_flows_at_debug_log_no_secret(redis_client):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = Provider.for_site(url, ACCESS_TOKEN_TTL="5").start()
    api = SampleAPI(provider.issuer).start()
    site = Site(
        provider,
        port,
        policy={"refresh_skew": "1s"},
        LOG_LEVEL="DEBUG",
        PROXY_UPSTREAMS=json.dumps({"notes": {"url": api.url}}),
    ).start()
    secrets = {
        provider.client_secret,
        site.env["DJANGO_SECRET_KEY"],
        site.env["TOKEN_ENCRYPTION_KEYS"],
    }
    try:
        http = requests.Session()
        start = http.get(f"{url}/auth/login/?next=/account/", allow_redirects=False)
        callback = sign_in_at_provider(
            http, start.headers["Location"], "alice", stop_at=f"{url}/auth/callback/"
        )
        query = parse_qs(urlsplit(callback).query)
        secrets |= {query["code"][0], query["state"][0]}
        assert http.get(callback).status_code == 200
        secrets |= _tokens(redis_client)

        calls = {"X-CSRF": "1", "Accept": "application/json"}
        assert http.get(f"{url}/api/proxy/notes/notes", headers=calls).status_code == 200
        time.sleep(6)  # the access token expires: the next call refreshes it
        assert http.get(f"{url}/api/proxy/notes/notes", headers=calls).status_code == 200
        secrets |= _tokens(redis_client)
        assert http.get(f"{url}/account/session/").status_code == 200

        # The site's cookies (the provider's, on the same host, are the provider's business).
        secrets |= {
            c.value for c in http.cookies if c.name in ("sessionid", "csrftoken") and c.value
        }
        page = http.get(f"{url}/auth/logout/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]  # type: ignore[index]
        secrets.add(csrf)
        bye = http.post(
            f"{url}/auth/logout/", data={"csrfmiddlewaretoken": csrf}, allow_redirects=False
        )
        assert bye.status_code == 302
        confirm_logout_at_provider(http, bye.headers["Location"])
    finally:
        site.stop()
        api.stop()
        provider.stop()

    assert site.process is not None
    assert provider.process is not None
    assert api.process is not None
    logs = {
        "site": site.process.log() + site.access_log.read_text(),
        "provider": provider.process.log(),
        "sample API": api.process.log(),
    }
    assert "DEBUG" in logs["site"]  # the site really logged at DEBUG
    assert "tokens refreshed" in logs["site"]  # and the refresh path ran
    secrets = {s for s in secrets if s and len(s) >= 16}
    assert len(secrets) >= 12
    for name, text in logs.items():
        for secret in secrets:
            # The whole value, and its last 16 characters (a JWT's signature, a cut-off value).
            assert secret not in text, f"a secret appears in the {name} log"
            assert secret[-16:] not in text, f"part of a secret appears in the {name} log"


def _tokens(redis_client):
    found = set()
    for record in stored_token_records(redis_client).values():
        found |= {record["access_token"], record["id_token"], record["refresh_token"]}
    return found
