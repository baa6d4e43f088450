"""A hostile OpenID provider: test-only.

By default it is an honest, minimal provider on 127.0.0.1: discovery, JWKS, an authorization
endpoint that signs ``person`` in at once and redirects back with ``code``, ``state`` and ``iss``
(RFC 9207), a token endpoint (authorization_code with client_secret_basic and PKCE S256;
refresh_token with rotation and reuse detection), revocation (RFC 7009) and userinfo. It also
mints back-channel logout tokens and POSTs them to the site.

A test then tells it to misbehave in one precise way: mint the next ID token for another
audience, sign it with ``alg: none`` or HMAC keyed with its own public key, name another issuer
in its discovery document, answer the callback with a foreign ``iss``, rotate its keys. The
site's real login, refresh and back-channel code must refuse what comes back, or accept it where
the specs say so.

Why test-only: it signs whatever it is asked to, checks no password and asks no consent. It
exists so the hostile cases of the OpenID RP test catalogue reach the site's code over real HTTP,
through discovery, the JWKS cache and the views, which the unit tests (validator called directly,
key set faked) do not. Never point a running site at it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "bff-test"
CLIENT_SECRET = "bff-test-secret-0123456789abcdefghijkl"
API_AUDIENCE = "https://api.hostile.test"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"

# The ways a token can be signed. RS256 is the honest one; every other is an attack from the
# catalogue: another algorithm with the real key, no signature, HMAC keyed with what the
# attacker knows (the published public key, the client secret), an unpublished key, or a real
# signature over a payload changed afterwards.
SIGNATURES = (
    "RS256",
    "RS512",
    "PS256",
    "none",
    "HS256-public-key",
    "HS256-client-secret",
    "attacker",
    "tampered",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638, written out again here so the site's own function is not what checks it."""
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


class Key:
    """An RSA signing key, its public JWK and its public key as PEM."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class Forgery:
    """How a token departs from an honest one. The default departs in nothing."""

    claims: dict[str, Any] = field(default_factory=dict)  # claims set or replaced
    without: tuple[str, ...] = ()  # claims left out
    sign: str = "RS256"  # one of SIGNATURES
    header: dict[str, Any] = field(default_factory=dict)  # header members; None leaves one out

    def __post_init__(self) -> None:
        if self.sign not in SIGNATURES:
            raise ValueError(f"unknown way to sign: {self.sign!r}")


class HostileProvider:
    """The provider. ``start()`` it once; ``reset()`` makes it honest again between tests.

    Knobs that last until ``reset()``: ``person``, ``discovery_changes``, ``redirect_changes``
    (None removes a parameter), ``rotate_refresh_tokens``, ``revocation_status``,
    ``userinfo_sub``, ``jwks_document``, and the keys (``rotate_keys``). Knobs that apply once,
    to the next token minted: ``next_id_token`` and ``next_token_response``. What the site did
    is in ``hits`` (requests by path), ``grants`` (token requests by grant type),
    ``refresh_tokens_presented`` and ``revoked``.

    Modern OAuth, all off by default: ``offer_par`` (RFC 9126 at ``/par``; ``par_answer`` and
    ``stall_par`` make it misbehave; ``pushed`` holds each pushed form), ``client_jwks``
    (private_key_jwt becomes the only client authentication it accepts; ``refuse_client``
    refuses every one; ``client_auth_seen`` says what came), and DPoP (RFC 9449): proofs are
    checked and bind the tokens unless ``bind_dpop`` is off; ``dpop_nonce`` demands that nonce
    in every proof, ``dpop_nonce_loop`` challenges every proof with a new one; ``dpop_proofs``
    holds each proof's claims and key thumbprint.
    """

    def __init__(self, site_url: str = "http://testserver") -> None:
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.redirect_uri = f"{site_url}/auth/callback/"
        self.backchannel_logout_uri = f"{site_url}/auth/backchannel-logout/"
        self.attacker = Key("attacker-key")
        self._first_key = Key("key-1")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.provider = self  # type: ignore[attr-defined]
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.reset()

    def start(self) -> HostileProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.keys = [self._first_key]  # published in the JWKS
            self.signing_key = self._first_key
            self.person = {"sub": "alice", "name": "Alice", "email": "alice@example.test"}
            self.discovery_changes: dict[str, Any] = {}
            # The RFC 8414 document: None serves a 404, a dict is merged over the honest one.
            self.oauth_metadata_changes: dict[str, Any] | None = None
            self.redirect_changes: dict[str, str | None] = {}
            self.rotate_refresh_tokens = True
            # Seconds a rotated refresh token is accepted again, answered as its first use was
            # (Auth0's Reuse Interval); 0: any reuse revokes the grant.
            self.reuse_interval = 0.0
            # Seconds to sit on the next refresh answer after acting on it, once.
            self.stall_next_refresh = 0.0
            self.revocation_status = 200
            self.userinfo_sub: str | None = None
            self.jwks_document: dict[str, Any] | None = None  # served instead of the keys
            self.last_login: dict[str, Any] = {}
            self.hits: Counter[str] = Counter()
            self.grants: Counter[str] = Counter()
            self.refresh_tokens_presented: list[str] = []
            self.revoked: list[str] = []
            self._id_token_forgeries: list[Forgery] = []
            self._token_response_changes: list[tuple[dict[str, Any], tuple[str, ...]]] = []
            self._codes: dict[str, dict[str, Any]] = {}
            self._refresh_tokens: dict[str, dict[str, Any]] = {}
            self.offer_par = False
            # (status, body) or (status, body, headers)
            self.par_answer: tuple[Any, ...] | None = None
            self.stall_par = 0.0
            self.pushed: list[list[tuple[str, str]]] = []
            self._pushed_requests: dict[str, dict[str, str]] = {}
            self.client_jwks: dict[str, Any] | None = None
            self.refuse_client = False
            self.client_auth_seen: list[dict[str, Any]] = []
            self._assertion_jtis: set[str] = set()
            self.bind_dpop = True
            self.dpop_nonce: str | None = None
            self.dpop_nonce_loop = False
            self.dpop_proofs: list[dict[str, Any]] = []
            self._proof: dict[str, Any] | None = None  # the current token request's

    # --- what a test asks of it --------------------------------------------------------------

    def next_id_token(
        self,
        *,
        without: tuple[str, ...] | list[str] = (),
        sign: str = "RS256",
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> None:
        """Mint the next ID token (from a login or a refresh) this way, once."""
        self._id_token_forgeries.append(Forgery(claims, tuple(without), sign, header or {}))

    def next_token_response(
        self, *, without: tuple[str, ...] | list[str] = (), **changes: Any
    ) -> None:
        """Change the next token endpoint answer (``token_type="BEARER"``, ``without=[...]``)."""
        self._token_response_changes.append((changes, tuple(without)))

    def rotate_keys(self, *, keep_old: bool) -> Key:
        """Sign with a new key from now on; publish it beside the old one, or instead of it."""
        new = Key(f"key-{uuid.uuid4().hex[:8]}")
        self.keys = [*self.keys, new] if keep_old else [new]
        self.signing_key = new
        return new

    def revoke_grants(self) -> None:
        """Every refresh token is dead from now on (an admin revoked the user's grants)."""
        with self._lock:
            for entry in self._refresh_tokens.values():
                entry["state"] = "revoked"

    def logout_token(
        self,
        *,
        without: tuple[str, ...] | list[str] = (),
        sign: str = "RS256",
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A back-channel logout token for the last login (``sub`` and ``sid``), forged as asked."""
        now = int(time.time())
        honest: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 120,
            "jti": uuid.uuid4().hex,
            "sub": self.last_login.get("sub"),
            "sid": self.last_login.get("sid"),
            "events": {LOGOUT_EVENT: {}},
        }
        return self.sign(honest, Forgery(claims, tuple(without), sign, header or {}))

    def post_logout_token(self, token: str, *, via: Any) -> Any:
        """POST ``logout_token`` to the site's back-channel logout URI and return the answer.

        ``via`` carries HTTP to the site: a ``requests.Session`` for a site on a port, Django's
        test client (no cookies: this is server to server) for the in-process site. Both have
        ``post(url, data)``.
        """
        form = {"logout_token": token}
        if hasattr(via, "mount"):  # requests: a dict is sent form-urlencoded
            return via.post(self.backchannel_logout_uri, data=form, timeout=10)
        # Django's test client sends a dict as multipart, which providers never do (section 2.5).
        return via.post(
            self.backchannel_logout_uri,
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
        )

    # --- minting ------------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any], forgery: Forgery) -> str:
        payload = {**claims, **forgery.claims}
        payload = {k: v for k, v in payload.items() if k not in forgery.without}
        how = forgery.sign
        key = self.attacker if how == "attacker" else self.signing_key
        # A None member leaves that header out; PyJWT drops "typ" only when it is given as None.
        header = {"kid": key.kid, **forgery.header}
        header = {k: v for k, v in header.items() if v is not None or k == "typ"}
        if how in ("RS256", "RS512", "PS256", "attacker"):
            alg = "RS256" if how == "attacker" else how
            return jwt.encode(payload, key.private, algorithm=alg, headers=header)
        if how == "tampered":
            head, _, signature = jwt.encode(payload, key.private, "RS256", header).split(".")
            return f"{head}.{_b64json({**payload, 'sub': 'mallory'})}.{signature}"
        if how == "none":
            return jwt.encode(payload, None, algorithm="none", headers=header)  # type: ignore[arg-type]
        if how == "HS256-client-secret":
            return jwt.encode(payload, self.client_secret, algorithm="HS256", headers=header)
        # HS256-public-key, the key-confusion attack: PyJWT refuses to make it, so by hand.
        plain = {k: v for k, v in header.items() if v is not None}
        signing_input = f"{_b64json({'alg': 'HS256', 'typ': 'JWT', **plain})}.{_b64json(payload)}"
        mac = hmac.new(key.pem(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    def _id_token(self, grant: dict[str, Any], nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "exp": now + 300,
            "iat": now,
            "auth_time": grant["auth_time"],
            "sid": grant["sid"],
            **grant["person"],
        }
        if nonce is not None:  # the code flow's; an ID token from a refresh carries none
            claims["nonce"] = nonce
        forgery = self._id_token_forgeries.pop(0) if self._id_token_forgeries else Forgery()
        return self.sign(claims, forgery)

    def _token_answer(
        self, grant: dict[str, Any], *, nonce: str | None, rotate: bool
    ) -> dict[str, Any]:
        now = int(time.time())
        access = {
            "iss": self.issuer,
            "sub": grant["person"]["sub"],
            "aud": API_AUDIENCE,
            "client_id": self.client_id,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        proof = self._proof
        if proof is not None:
            access["cnf"] = {"jkt": proof["jkt"]}  # RFC 9449 section 6
        body: dict[str, Any] = {
            "access_token": self.sign(access, Forgery()),
            "token_type": "DPoP" if proof is not None else "Bearer",
            "expires_in": 300,
            "id_token": self._id_token(grant, nonce),
            "scope": grant["scope"],
        }
        if rotate:
            refresh_token = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh_token] = {"grant": grant, "state": "live"}
            body["refresh_token"] = refresh_token
        changes, without = (
            self._token_response_changes.pop(0) if self._token_response_changes else ({}, ())
        )
        body.update(changes)
        return {k: v for k, v in body.items() if k not in without}

    # --- endpoints ----------------------------------------------------------------------------

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        form: dict[str, str],
        headers: Any,
        pairs: list[tuple[str, str]] | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
        routes = {
            ("POST", "/par"): lambda: self._push(form, pairs or [], headers),
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/.well-known/oauth-authorization-server"): self._oauth_metadata,
            ("GET", "/jwks"): lambda: self.jwks_document or {"keys": [k.jwk() for k in self.keys]},
            ("GET", "/attacker/jwks"): lambda: {"keys": [self.attacker.jwk()]},
            ("GET", "/authorize"): lambda: self._authorize(query),
            ("POST", "/token"): lambda: self._token(form, headers),
            ("POST", "/revoke"): lambda: self._revoke(form, headers),
            ("GET", "/userinfo"): lambda: {"sub": self.userinfo_sub or self.person["sub"]},
        }
        with self._lock:
            self.hits[path] += 1
            route = routes.get((method, path))
            if route is None:
                return 404, {}, {"error": "not_found"}
            result = route()
            stall = 0.0
            if (method, path) == ("POST", "/token") and form.get("grant_type") == "refresh_token":
                stall, self.stall_next_refresh = self.stall_next_refresh, 0.0
            if (method, path) == ("POST", "/par"):
                stall = self.stall_par
        # Acted on (a rotated refresh token is spent), and only then slow to say so.
        time.sleep(stall)
        return result if isinstance(result, tuple) else (200, {}, result)

    def _discovery(self) -> dict[str, Any]:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "revocation_endpoint": f"{self.issuer}/revoke",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "authorization_response_iss_parameter_supported": True,
            **(
                {"pushed_authorization_request_endpoint": f"{self.issuer}/par"}
                if self.offer_par
                else {}
            ),
            **self.discovery_changes,
        }
        return {k: v for k, v in document.items() if v is not None}

    def _oauth_metadata(self) -> dict[str, Any] | tuple[int, dict[str, str], dict[str, Any]]:
        if self.oauth_metadata_changes is None:
            return 404, {}, {"error": "not_found"}
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "revocation_endpoint": f"{self.issuer}/revoke",
            **self.oauth_metadata_changes,
        }
        return {k: v for k, v in document.items() if v is not None}

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if "request_uri" in query:
            pushed = self._pushed_requests.pop(query["request_uri"], None)  # used once
            if pushed is None or query.get("client_id") != pushed.get("client_id"):
                return 400, {}, b"unknown or used request_uri"
            query = pushed
        if query.get("client_id") != self.client_id or query.get("redirect_uri") != (
            self.redirect_uri
        ):
            return 400, {}, b"unknown client or redirect_uri"  # never redirect anywhere else
        params: dict[str, str | None]
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            params = {"error": "invalid_request", "state": query.get("state")}
        else:
            code = secrets.token_urlsafe(32)
            grant = {
                "person": dict(self.person),
                "sid": f"sid-{uuid.uuid4().hex[:12]}",
                "auth_time": int(time.time()),
                "scope": query.get("scope", "openid"),
            }
            self._codes[code] = {
                "grant": grant,
                "nonce": query.get("nonce"),
                "challenge": query.get("code_challenge"),
                "redirect_uri": query["redirect_uri"],
            }
            self.last_login = {"sub": self.person["sub"], "sid": grant["sid"]}
            params = {"code": code, "state": query.get("state"), "iss": self.issuer}
            params.update(self.redirect_changes)
        present = {k: v for k, v in params.items() if v is not None}
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(present)}"}, b""

    def _client_authenticated(self, headers: Any, form: dict[str, str], endpoint: str) -> bool:
        if self.refuse_client:
            return False
        if "client_assertion" in form:
            return self._assertion_valid(form, endpoint)
        if "client_secret" in form:  # client_secret_post
            self.client_auth_seen.append({"method": "client_secret_post"})
            return (
                self.client_jwks is None  # with keys registered, only an assertion will do
                and form.get("client_id") == self.client_id
                and hmac.compare_digest(form["client_secret"], self.client_secret)
            )
        # client_secret_basic (RFC 6749 2.3.1): id and secret form-encoded, then base64.
        self.client_auth_seen.append({"method": "client_secret_basic"})
        if self.client_jwks is not None:
            return False
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return unquote_plus(client_id) == self.client_id and hmac.compare_digest(
            unquote_plus(secret), self.client_secret
        )

    def _assertion_valid(self, form: dict[str, str], endpoint: str) -> bool:
        """private_key_jwt (RFC 7523): signed by a registered key, for this provider, fresh."""
        assertion = form.get("client_assertion", "")
        seen: dict[str, Any] = {"method": "private_key_jwt"}
        self.client_auth_seen.append(seen)
        if self.client_jwks is None or form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return False
        try:
            header = jwt.get_unverified_header(assertion)
            jwk = next(k for k in self.client_jwks["keys"] if k["kid"] == header.get("kid"))
            claims = jwt.decode(
                assertion,
                jwt.PyJWK(jwk).key,
                algorithms=["RS256", "PS256", "ES256"],
                audience=[self.issuer, f"{self.issuer}{endpoint}"],
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except (StopIteration, jwt.InvalidTokenError):
            return False
        seen.update(aud=claims["aud"], kid=header["kid"], lifetime=claims["exp"] - claims["iat"])
        if claims["jti"] in self._assertion_jtis:
            return False  # a replayed assertion
        self._assertion_jtis.add(claims["jti"])
        return bool(claims["iss"] == claims["sub"] == self.client_id)

    def _dpop_proof(self, headers: Any) -> tuple[dict[str, Any] | None, str | None]:
        """The checked proof (claims and key thumbprint), or an error: ``use_dpop_nonce`` asks
        for a new nonce (RFC 9449 section 8), ``invalid_dpop_proof`` refuses it."""
        proof = headers.get("DPoP")
        if proof is None:
            return None, None
        try:
            header = jwt.get_unverified_header(proof)
            claims = jwt.decode(
                proof,
                jwt.PyJWK(header["jwk"]).key,
                algorithms=["ES256", "RS256", "PS256"],
                options={"verify_aud": False},
            )
        except (KeyError, jwt.InvalidTokenError, jwt.PyJWKError):
            return None, "invalid_dpop_proof"
        thumbprint = _thumbprint(header["jwk"])
        self.dpop_proofs.append({**claims, "jkt": thumbprint, "typ": header.get("typ")})
        if (
            header.get("typ") != "dpop+jwt"
            or claims.get("htm") != "POST"
            or claims.get("htu") != f"{self.issuer}/token"
        ):
            return None, "invalid_dpop_proof"
        if self.dpop_nonce_loop or (
            self.dpop_nonce is not None and claims.get("nonce") != self.dpop_nonce
        ):
            return None, "use_dpop_nonce"
        return {**claims, "jkt": thumbprint}, None

    def _token(
        self, form: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        grant_type = form.get("grant_type", "")
        self.grants[grant_type] += 1
        if not self._client_authenticated(headers, form, "/token"):
            return 401, {"WWW-Authenticate": 'Basic realm="token"'}, {"error": "invalid_client"}
        proof, proof_error = self._dpop_proof(headers)
        nonce_header: dict[str, str] = {}
        if self.dpop_nonce_loop:
            nonce_header = {"DPoP-Nonce": f"nonce-{uuid.uuid4().hex[:12]}"}
        elif self.dpop_nonce is not None:
            nonce_header = {"DPoP-Nonce": self.dpop_nonce}
        if proof_error is not None:
            return 400, nonce_header, {"error": proof_error}
        self._proof = proof if self.bind_dpop else None
        if grant_type == "authorization_code":
            body = self._exchange_code(form)
        elif grant_type == "refresh_token":
            body = self._refresh(form)
        else:
            body = {"error": "unsupported_grant_type"}
        status = 400 if "error" in body else 200
        return status, {"Cache-Control": "no-store", **nonce_header}, body

    def _push(
        self, form: dict[str, str], pairs: list[tuple[str, str]], headers: Any
    ) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
        """RFC 9126: keep the parameters, hand back a reference to them."""
        self.pushed.append(pairs)
        if self.par_answer is not None:
            status, body, *headers = self.par_answer
            return status, (headers[0] if headers else {}), body
        if not self._client_authenticated(headers, form, "/par"):
            return 401, {}, {"error": "invalid_client"}
        request_uri = f"urn:ietf:params:oauth:request_uri:{secrets.token_urlsafe(16)}"
        self._pushed_requests[request_uri] = {
            name: value
            for name, value in pairs
            if name not in ("client_secret", "client_assertion", "client_assertion_type")
        }
        self._pushed_requests[request_uri].setdefault("client_id", self.client_id)
        return 201, {"Cache-Control": "no-store"}, {"request_uri": request_uri, "expires_in": 60}

    def _exchange_code(self, form: dict[str, str]) -> dict[str, Any]:
        entry = self._codes.pop(form.get("code", ""), None)  # a code works once
        verifier = form.get("code_verifier", "")
        if (
            entry is None
            or form.get("redirect_uri") != entry["redirect_uri"]
            or _b64(hashlib.sha256(verifier.encode()).digest()) != entry["challenge"]
        ):
            return {"error": "invalid_grant"}
        return self._token_answer(entry["grant"], nonce=entry["nonce"], rotate=True)

    def _refresh(self, form: dict[str, str]) -> dict[str, Any]:
        presented = form.get("refresh_token", "")
        self.refresh_tokens_presented.append(presented)
        entry = self._refresh_tokens.get(presented)
        if (
            entry is not None
            and entry["state"] == "used"
            and time.monotonic() - entry["used_at"] < self.reuse_interval
        ):
            return dict(entry["answer"])  # within the reuse interval: the same answer again
        if entry is not None and entry["state"] == "used":
            # A rotated token presented again is taken for theft: the whole grant dies.
            for other in self._refresh_tokens.values():
                if other["grant"] is entry["grant"]:
                    other["state"] = "revoked"
        if entry is None or entry["state"] != "live":
            return {"error": "invalid_grant"}
        answer = self._token_answer(entry["grant"], nonce=None, rotate=self.rotate_refresh_tokens)
        if self.rotate_refresh_tokens:
            entry.update(state="used", used_at=time.monotonic(), answer=answer)
        return answer

    def _revoke(self, form: dict[str, str], headers: Any) -> tuple[int, dict[str, str], bytes]:
        if not self._client_authenticated(headers, form, "/revoke"):
            return 401, {}, b""
        if self.revocation_status != 200:
            return self.revocation_status, {"Retry-After": "5"}, b""
        token = form.get("token", "")
        self.revoked.append(token)
        if token in self._refresh_tokens:  # an unknown token is a success too (RFC 7009 2.2)
            self._refresh_tokens[token]["state"] = "revoked"
        return 200, {}, b""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the counters say what happened

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        form: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            pairs = parse_qsl(body, keep_blank_values=True)
        provider: HostileProvider = self.server.provider  # type: ignore[attr-defined]
        status, headers, payload = provider.answer(
            method, url.path, query, form, self.headers, pairs
        )
        if isinstance(payload, dict):
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
        else:
            data = payload
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the site stopped waiting (a timeout test): nobody is left to answer
