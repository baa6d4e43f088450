"""Pushed authorization requests (RFC 9126), free of Django and of I/O.

With PAR the authorization parameters go from this server to the provider over a back channel,
authenticated as the client, and the browser carries only ``client_id`` and the opaque
``request_uri`` the provider handed back: nothing in the browser's address bar, history or a
proxy's log can be read or changed on the way. The shell (``accounts.oidc.pushed_authorization``)
does the POST; the rules about when to push and what an answer means live here.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

PAR_SETTINGS = ("auto", "always", "never")
Decision = Literal["push", "redirect", "unavailable"]
# "Try later" (RFC 6585 section 4, RFC 9110 section 15.6.4): nobody's fault, only a wait.
_BUSY = frozenset({429, 503})
# A Retry-After a person may be told to wait: whole seconds, at most a day.
_DELAY_SECONDS = re.compile(r"[0-9]{1,5}")
_LONGEST_WAIT = 86_400


def push_decision(setting: str, *, endpoint: str | None, required: bool) -> Decision:
    """Whether a login pushes its parameters (``push``), sends them through the browser
    (``redirect``), or cannot start (``unavailable``: "always" and no endpoint to push to).

    A provider that requires PAR (``require_pushed_authorization_requests``) is pushed to even
    under "never": it would refuse the login otherwise, with a less helpful page.
    """
    if endpoint is None:
        return "unavailable" if setting == "always" or required else "redirect"
    if setting == "never" and not required:
        return "redirect"
    return "push"


def authorization_parameters(authorization_url: str) -> list[tuple[str, str]]:
    """The parameters of a front-channel authorization URL, in order, repeats kept
    (``resource=A&resource=B``): everything that goes into the push."""
    return parse_qsl(urlsplit(authorization_url).query, keep_blank_values=True)


def front_channel_url(authorization_endpoint: str, *, client_id: str, request_uri: str) -> str:
    """Where the browser goes after a push (RFC 9126 section 4)."""
    separator = "&" if urlsplit(authorization_endpoint).query else "?"
    query = urlencode({"client_id": client_id, "request_uri": request_uri})
    return f"{authorization_endpoint}{separator}{query}"


class PushRefused(Exception):
    """The provider answered the push with an OAuth error (RFC 9126 section 2.3).

    ``error`` is its code (``invalid_request``, ``invalid_client``...), safe to log and show.
    """

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class PushAnswerUnusable(Exception):
    """The provider's answer is neither an error nor a ``request_uri`` (a fault on its side)."""


class PushTooLarge(PushAnswerUnusable):
    """The provider refused the push as too large (413). The parameters are the site's (its
    settings), nothing the person logging in sent or can change: a gateway's fault, not theirs,
    and trying again will not help."""


class PushDeferred(Exception):
    """The provider asks to be tried later (429, 503); ``retry_after`` is its wait in seconds,
    when it named one a person may be told (``retry_after_seconds``)."""

    def __init__(self, status: int, retry_after: int | None) -> None:
        super().__init__(f"answered {status}")
        self.retry_after = retry_after


def request_uri_from(status: int, body: object, retry_after: str | None = None) -> str:
    """The ``request_uri`` of a successful push (201, JSON ``request_uri`` and ``expires_in``).

    Raises ``PushDeferred`` for a 429 or 503 (with ``retry_after``, the answer's header),
    ``PushTooLarge`` for a 413, ``PushRefused`` for another 4xx OAuth error, and
    ``PushAnswerUnusable`` for anything else that is not a success. 200 is taken as 201: the
    meaning is the same and some servers get the code wrong.
    """
    if status in _BUSY:
        raise PushDeferred(status, retry_after_seconds(retry_after))
    if status == 413:
        raise PushTooLarge("answered 413: the login request is too large for it")
    if status >= 500 or not isinstance(body, dict):
        raise PushAnswerUnusable(f"answered {status} without a JSON object")
    if 400 <= status < 500:
        error = body.get("error")
        # Shown on the error page: a code is a short protocol word, anything longer is noise.
        raise PushRefused(error[:100] if isinstance(error, str) and error else str(status))
    request_uri = body.get("request_uri")
    if status not in (200, 201) or not isinstance(request_uri, str) or not request_uri:
        raise PushAnswerUnusable(f"answered {status} without a request_uri")
    return request_uri


def retry_after_seconds(header: str | None) -> int | None:
    """A ``Retry-After`` in whole seconds, when it is one a person may be told: up to a day.
    An HTTP date, or anything else, is left out (the page's own default applies)."""
    value = (header or "").strip()
    if not _DELAY_SECONDS.fullmatch(value):
        return None
    seconds = int(value)
    return seconds if seconds <= _LONGEST_WAIT else None
