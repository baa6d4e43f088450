"""Smoke test for the dev OpenID Connect provider (dev/provider/server.mjs).

Starts the provider on a free loopback port, drives the login and consent forms
the way the RP's tests do, and checks tokens, refresh rotation, reuse
detection, the /_dev endpoints and RP-initiated + back-channel logout.

    cd dev/provider && npm ci && cd -
    python dev/provider/smoke_test.py

Needs Node.js and the Python package `requests`. Exits non-zero on failure.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import requests

HERE = Path(__file__).resolve().parent
CLIENT = ("bff-dev", "bff-dev-secret-change-me")
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback/"
POST_LOGOUT_URI = "http://127.0.0.1:8000/"
API_AUDIENCE = "http://127.0.0.1:8002"
REFRESH_DELAY_MS = 300


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header(jwt):
    head = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


class BackchannelReceiver(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        self.received.append(parse_qs(body)["logout_token"][0])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def login(op, user):
    """Authorization code flow through the dev login and consent forms."""
    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    r = browser.get(
        f"{op}/auth",
        allow_redirects=False,
        params={
            "client_id": CLIENT[0],
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email offline_access",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "consent",
        },
    )
    assert r.status_code == 303, r.text
    # Login form: POST /interaction/<uid> with prompt=login, login, password.
    interaction = urljoin(op, r.headers["location"])
    assert 'name="login"' in browser.get(interaction).text
    r = browser.post(
        interaction,
        data={"prompt": "login", "login": user, "password": "any"},
        allow_redirects=False,
    )
    r = browser.get(urljoin(op, r.headers["location"]), allow_redirects=False)  # /auth/<uid>
    # Consent form: POST /interaction/<uid> with prompt=consent.
    interaction = urljoin(op, r.headers["location"])
    assert 'name="prompt" value="consent"' in browser.get(interaction).text
    r = browser.post(interaction, data={"prompt": "consent"}, allow_redirects=False)
    r = browser.get(urljoin(op, r.headers["location"]), allow_redirects=False)  # /auth/<uid>
    callback = r.headers["location"]
    assert callback.startswith(REDIRECT_URI), callback
    params = {k: v[0] for k, v in parse_qs(urlparse(callback).query).items()}
    assert params["state"] == state and params["iss"] == op, params
    return browser, params["code"], verifier, nonce


def token(op, **data):
    started = time.monotonic()
    r = requests.post(f"{op}/token", data=data, auth=CLIENT)
    return r, time.monotonic() - started


def main():
    port, rp_port = free_port(), free_port()
    op = f"http://127.0.0.1:{port}"
    rp = HTTPServer(("127.0.0.1", rp_port), BackchannelReceiver)
    threading.Thread(target=rp.serve_forever, daemon=True).start()

    env = dict(
        os.environ,
        PROVIDER_PORT=str(port),
        REFRESH_DELAY_MS=str(REFRESH_DELAY_MS),
        PROVIDER_LOG="0",
        PROVIDER_ISSUER="",
        PROVIDER_JWKS_FILE="",
        CLIENT_BACKCHANNEL_LOGOUT_URI=f"http://127.0.0.1:{rp_port}/auth/backchannel-logout/",
    )
    proc = subprocess.Popen(
        ["node", str(HERE / "server.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == f"provider listening on {op}"

        meta = requests.get(f"{op}/.well-known/openid-configuration").json()
        assert meta["issuer"] == op
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert meta["backchannel_logout_supported"] and meta["backchannel_logout_session_supported"]
        assert meta["end_session_endpoint"] == f"{op}/session/end"
        assert meta["revocation_endpoint"] == f"{op}/token/revocation"
        assert meta["code_challenge_methods_supported"] == ["S256"]

        # Code flow, no resource parameter.
        browser, code, verifier, nonce = login(op, " alice ")
        r, _ = token(
            op,
            grant_type="authorization_code",
            code=code,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
        assert r.status_code == 200, r.text
        tokens = r.json()
        at, idt = claims(tokens["access_token"]), claims(tokens["id_token"])
        assert header(tokens["access_token"])["typ"] == "at+jwt"
        assert (
            at["aud"] == API_AUDIENCE
            and at["iss"] == op
            and at["sub"] == "alice"
            and at["exp"] > time.time()
        )
        assert header(tokens["id_token"])["alg"] == "RS256"
        assert idt["aud"] == CLIENT[0] and idt["nonce"] == nonce and idt["sub"] == "alice"
        assert (
            idt["name"] == "Alice"
            and idt["email"] == "alice@example.test"
            and idt["email_verified"] is True
        )
        assert tokens["expires_in"] == 300 and tokens["refresh_token"]

        # Refresh rotates; reusing the old refresh token revokes the grant.
        r, took = token(op, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert r.status_code == 200 and took >= REFRESH_DELAY_MS / 1000, (r.text, took)
        rotated = r.json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert claims(rotated["access_token"])["aud"] == API_AUDIENCE
        r, _ = token(op, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        r, _ = token(op, grant_type="refresh_token", refresh_token=rotated["refresh_token"])
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        stats = requests.get(f"{op}/_dev/stats").json()
        assert stats == {
            "refresh_grants": 3,
            "authorization_code_grants": 1,
            "refresh_failures": 2,
        }, stats
        assert requests.post(f"{op}/_dev/stats/reset").json()["refresh_grants"] == 0

        # Grant revoked at the provider.
        _, code, verifier, _ = login(op, "bob")
        r, _ = token(
            op,
            grant_type="authorization_code",
            code=code,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
        bob = r.json()
        assert (
            requests.post(f"{op}/_dev/revoke-grants", params={"sub": "bob"}).json()[
                "revoked_grants"
            ]
            == 1
        )
        r, _ = token(op, grant_type="refresh_token", refresh_token=bob["refresh_token"])
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

        # RP-initiated logout: confirm page, then POST xsrf + logout=yes.
        r = browser.get(
            f"{op}/session/end",
            params={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": POST_LOGOUT_URI,
                "state": "bye",
            },
        )
        assert r.status_code == 200 and 'id="op.logoutForm"' in r.text
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', r.text).group(1)
        r = browser.post(
            f"{op}/session/end/confirm", data={"xsrf": xsrf, "logout": "yes"}, allow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == f"{POST_LOGOUT_URI}?state=bye", (
            r.headers
        )
        assert len(BackchannelReceiver.received) == 1
        logout = claims(BackchannelReceiver.received[0])
        assert (
            logout["sub"] == "alice" and logout["aud"] == CLIENT[0] and logout["sid"] == idt["sid"]
        )
        assert "http://schemas.openid.net/event/backchannel-logout" in logout["events"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        rp.shutdown()
    print("provider smoke test: ok")


if __name__ == "__main__":
    sys.exit(main())
