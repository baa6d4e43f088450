"""A key server and access-token claims, for the resource-server tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "http://127.0.0.1:8002"
ISSUER = "https://issuer.test"


class KeyServer:
    """Publishes a JWKS at /jwks and counts how often it was fetched; as an issuer (``issuer``),
    its discovery document names that key set, so a server of its own (the sample API) can
    trust tokens a test signs."""

    def __init__(self, *keys):
        self.keys = list(keys)
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    document = {"issuer": outer.issuer, "jwks_uri": outer.jwks_uri}
                    body = json.dumps(document).encode()
                else:
                    outer.fetches += 1
                    body = json.dumps({"keys": [k.public_jwk for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_uri = f"{self.issuer}/jwks"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def access_claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": API,
        "exp": now + 300,
        "iat": now,
        "scope": "openid read:notes",
        "client_id": "bff-test",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}
