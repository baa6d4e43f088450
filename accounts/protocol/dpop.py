"""DPoP proofs as a client sends them (RFC 9449 sections 4 and 8-9), free of Django and of I/O.

A proof is a JWT signed with the site's DPoP key, carrying the public key in its header, bound to
one request (``htm`` method, ``htu`` URL without query or fragment), fresh (``iat``, a random
``jti``), and, when it goes with an access token, to that token (``ath``). The token endpoint and
the proxy build proofs here, so both send the same thing; what their shells add is only I/O.
Both also keep each server's latest nonce the same way (``LatestNonces``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from urllib.parse import quote, urlsplit, urlunsplit

from accounts.protocol.signing_keys import SigningKey, b64url

PROOF_TYPE = "dpop+jwt"
# The token_type of a DPoP-bound access token (RFC 9449 section 5), and its Authorization scheme.
TOKEN_TYPE = "DPoP"  # noqa: S105 (a token type, not a secret)
NONCE_HEADER = "DPoP-Nonce"
# The error word both a token endpoint (400, JSON ``error``) and a resource server (401,
# ``WWW-Authenticate: DPoP error=...``) use to say "sign again with this nonce".
NONCE_ERROR = "use_dpop_nonce"
# What our published JWKs add to the key material; a proof's header carries the key alone.
_KEY_LABELS = frozenset({"kid", "alg", "use"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def proof(
    key: SigningKey,
    *,
    method: str,
    url: str,
    now: float,
    access_token: str | None = None,
    nonce: str | None = None,
) -> str:
    """A DPoP proof for one request; a new ``jti`` every call, so no two proofs are alike."""
    claims: dict[str, object] = {
        "htm": method.upper(),
        "htu": target_uri(url),
        "iat": int(now),
        "jti": secrets.token_urlsafe(24),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    # The header carries the public key itself and no kid: the receiver binds the token to this
    # key's thumbprint (cnf.jkt), not to a name in a key set.
    public = {name: value for name, value in key.public_jwk.items() if name not in _KEY_LABELS}
    header = {"typ": PROOF_TYPE, "jwk": public}
    return key.sign(claims, headers=header, with_kid=False)


def is_dpop_bound(token_type: str) -> bool:
    """Whether a token endpoint's ``token_type`` says the token is DPoP-bound: such a token goes
    as ``Authorization: DPoP`` with a proof, never as a bearer token (RFC 9449 sections 7.1 and
    7.2). Compared without case, as RFC 6749 section 5.1 has it."""
    return token_type.strip().lower() == TOKEN_TYPE.lower()


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url SHA-256 of the token's ASCII octets (RFC 9449 section 4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def target_uri(url: str) -> str:
    """``htu``: the request URI without query and fragment (RFC 9449 section 4.2), in the form
    a receiver compares (``comparable_uri``), so that one that compares strictly matches too."""
    try:
        return comparable_uri(url)
    except ValueError:
        # Not an absolute http(s) URL: nothing this site sends, but never a reason to fail.
        parts = urlsplit(url)
        return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def comparable_uri(url: str) -> str:
    """``url`` as ``htu`` is compared (RFC 9449 section 4.3, check 9; RFC 3986 section 6.2.2-3):
    without query and fragment, scheme and host in lower case, no default port, an empty path as
    ``/``, percent-escapes of unreserved characters decoded and the others upper-cased, and a
    character outside ASCII escaped as its UTF-8 octets (an IRI's path as its URI's, RFC 3987
    section 3.1). Raises ``ValueError`` for what is not an absolute http(s) URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("not an absolute http(s) URL")
    port = parts.port
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _NON_ASCII.sub(_utf8_escape, parts.path or "/")
    path = _PERCENT.sub(_normal_escape, path)
    return urlunsplit((scheme, netloc, path, "", ""))


def _utf8_escape(match: re.Match[str]) -> str:
    return quote(match.group(), safe="")  # a lone surrogate raises UnicodeEncodeError here


def _normal_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else f"%{match.group(1).upper()}"


def nonce_to_retry_with(
    *, status: int, error: str | None, nonce_header: str | None, sent_nonce: str | None
) -> str | None:
    """The nonce to sign again with, or ``None`` when the answer is not a nonce challenge.

    A challenge is a 400 (token endpoint) or 401 (resource server) naming ``use_dpop_nonce``
    with a ``DPoP-Nonce`` header. A nonce equal to the one just sent is not a new challenge: a
    server that keeps asking for the nonce it was given is broken, and retrying would loop.
    """
    if status not in (400, 401) or error != NONCE_ERROR:
        return None
    nonce = usable_nonce(nonce_header)
    if nonce is None or nonce == sent_nonce:
        return None
    return nonce


def usable_nonce(nonce_header: str | None) -> str | None:
    """A ``DPoP-Nonce`` header's nonce, or ``None`` when it holds none a proof could carry.

    RFC 9449 section 8.1: nonce = 1*NQCHAR, %x21 / %x23-5B / %x5D-7E (no quote, no backslash).
    """
    nonce = (nonce_header or "").strip()
    if not nonce or not all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in nonce):
        return None
    return nonce


class LatestNonces:
    """The latest usable nonce each server gave (RFC 9449 section 8.2: any answer may carry a
    ``DPoP-Nonce``), by the origin of its URL: the next proof to that server carries it, so a
    server that requires nonces need not challenge every request.

    Per process and safe to share between threads. Bounded: past ``limit`` origins, the one told
    a nonce least recently forgets it, so no stream of answers can grow it without end.
    """

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._nonces: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, url: str) -> str | None:
        with self._lock:
            return self._nonces.get(_origin(url))

    def note(self, url: str, nonce_header: str | None) -> None:
        """Keep the answer's nonce, if it carried one a proof can carry (``usable_nonce``)."""
        nonce = usable_nonce(nonce_header)
        if nonce is None:
            return
        origin = _origin(url)
        with self._lock:
            self._nonces[origin] = nonce
            self._nonces.move_to_end(origin)
            while len(self._nonces) > self._limit:
                self._nonces.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._nonces.clear()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
