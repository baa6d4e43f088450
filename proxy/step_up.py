"""An upstream's RFC 9470 step-up challenge, read: ``401`` with ``WWW-Authenticate: Bearer
error="insufficient_user_authentication"``, and the ``acr_values`` and ``max_age`` it asks for.

The browser cannot act on that header (no browser translates RFC 9470), so both shells answer
such a 401 with the same ``401 {"error": "step_up_required", "login_url", "acr_values",
"max_age"}`` a step-up requirement of the proxy's own gets: the page sends the user through the
login at ``login_url`` and calls again. Neither the upstream's body is forwarded nor the call
retried (a new token from the same login would be refused the same way). A pure function of the
status and the header values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from accounts.api import AuthenticationRequirement, InvalidRequirement
from proxy.challenges import parse_challenges

logger = logging.getLogger(__name__)

STEP_UP_ERROR = "insufficient_user_authentication"
# DPoP-bound tokens are challenged with the DPoP scheme (RFC 9449 §7.1), with the same errors.
_TOKEN_SCHEMES = frozenset({"bearer", "dpop"})
MESSAGE = "The API needs a stronger or more recent login."


def step_up_challenge(status: int, challenges: Iterable[str]) -> AuthenticationRequirement | None:
    """What a 401's step-up challenge requires of the login, or None when it is not one.

    A challenge whose ``acr_values`` or ``max_age`` cannot be asked for (malformed) is not
    acted on: the 401 goes to the browser as any other."""
    if status != 401:
        return None
    for challenge in parse_challenges(challenges):
        if challenge.scheme in _TOKEN_SCHEMES and challenge.params.get("error") == STEP_UP_ERROR:
            try:
                return AuthenticationRequirement.from_parameters(
                    challenge.params.get("acr_values"), challenge.params.get("max_age")
                )
            except InvalidRequirement as exc:
                logger.warning("an upstream's step-up challenge cannot be followed: %s", exc)
                return None
    return None
