"""An upstream's RFC 9470 step-up challenge, and what the proxy does about it: pure rules that the
WSGI view, the ASGI handler and the WebSocket handshake share. ``proxy.retries.judge_answer``
applies them, once no other retry is due (a renewed token may be enough), in its one verdict on
an answer; the shells only fetch tokens, with the requirement a verdict names, and send.

The challenge is a ``401`` with ``WWW-Authenticate: Bearer
error="insufficient_user_authentication"`` (or ``DPoP``) and the ``acr_values`` and ``max_age`` it
asks for. The browser cannot act on that header (no browser translates RFC 9470), and the session
may or may not already have what it asks for, so one of three things happens:

- **step up**: the session's login falls short of the challenge. The token getter, asked for a
  token that meets it, raises the same ``401 {"error": "step_up_required", "login_url", ...}`` a
  step-up requirement of the proxy's own gets: the page sends the user through the login at
  ``login_url`` and calls again.
- **renew once**: the session already meets it (the user stepped up, but the provider left the
  level out of the access token it had, or the token predates the step-up). The token is renewed
  (forced, so a token carrying the level may come back) and the call sent once more.
- **give up**: the upstream challenges again after that, or the call cannot be sent again (its
  body streamed) and the login already meets the challenge. Sending the user to log in would
  bring back the same level and the same challenge, a loop:
  ``403 {"error": "upstream_step_up_unmet"}`` says so instead.

A challenge that names neither ``acr_values`` nor ``max_age`` (RFC 9470 makes both optional)
asks for nothing the proxy could name, yet says the authentication behind the token is not
enough: it is read as ``max_age=0``, a fresh authentication, the one request that changes
something. An upstream sent no token (``"auth": "none"``) is not challenged about one: its 401
passes as any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from accounts.api import AuthenticationRequirement, InvalidRequirement
from proxy.challenges import parse_challenges
from proxy.exceptions import UpstreamStepUpUnmet
from proxy.upstreams import Upstream

logger = logging.getLogger(__name__)

STEP_UP_ERROR = "insufficient_user_authentication"
# DPoP-bound tokens are challenged with the DPoP scheme (RFC 9449 §7.1), with the same errors.
_TOKEN_SCHEMES = frozenset({"bearer", "dpop"})
# What an empty challenge is read as: authenticate again, now.
FRESH_AUTHENTICATION = AuthenticationRequirement(max_age=0)


def step_up_challenge(status: int, challenges: Iterable[str]) -> AuthenticationRequirement | None:
    """What a 401's step-up challenge requires of the login, or None when it is not one.

    A challenge whose ``acr_values`` or ``max_age`` cannot be asked for (malformed) is not
    acted on: the 401 goes to the browser as any other."""
    if status != 401:
        return None
    for challenge in parse_challenges(challenges):
        if challenge.scheme in _TOKEN_SCHEMES and challenge.params.get("error") == STEP_UP_ERROR:
            try:
                required = AuthenticationRequirement.from_parameters(
                    challenge.params.get("acr_values"), challenge.params.get("max_age")
                )
            except InvalidRequirement as exc:
                logger.warning("an upstream's step-up challenge cannot be followed: %s", exc)
                return None
            return required or FRESH_AUTHENTICATION
    return None


def challenged_requirement(
    upstream: Upstream, status: int, challenges: Iterable[str]
) -> AuthenticationRequirement | None:
    """The requirement of ``upstream``'s step-up challenge, when the proxy can act on it: it
    sends ``upstream`` the user's token."""
    if upstream.auth == "none":
        return None
    return step_up_challenge(status, challenges)


def unmet(upstream: Upstream) -> UpstreamStepUpUnmet:
    """The refusal for a challenge that the session's login meets, yet the upstream repeats."""
    return UpstreamStepUpUnmet(
        f"{upstream.name} still asks for a stronger or more recent login, and this session's "
        "login already is what it asked for: logging in again would change nothing. Its "
        "access tokens may not carry the login's level (acr, auth_time)."
    )
