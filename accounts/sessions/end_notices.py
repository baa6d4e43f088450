"""Telling every worker that a session ended, so that the sockets and streams it holds open close
at once rather than on their next request.

``session_was_ended`` (every end goes through it) publishes the session's *notice id* on one
Redis pub/sub channel; each ASGI worker's subscriber (``accounts.edge.session_watch``) closes
what it holds for that id. The id is an HMAC of the session key, so the key (a credential)
never travels; the channel is named with the session cache's key prefix, so two sites sharing a
Redis do not hear each other.

Publishing is best effort: a session ended while Redis does not answer is still gone, and the
subscriber's sweep (it checks that the sessions it watches still exist) closes the rest.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import caches
from django.utils.crypto import salted_hmac
from redis.exceptions import RedisError

from accounts.conf import accounts_settings

logger = logging.getLogger(__name__)

CHANNEL_NAME = "accounts:session-ended"


def notice_id(session_key: str) -> str:
    return salted_hmac("accounts.session-end-notice", session_key, algorithm="sha256").hexdigest()


def channel() -> str:
    """The pub/sub channel, prefixed as the session cache prefixes its keys."""
    return str(_cache_client().make_key(CHANNEL_NAME))


def publish_session_end(session_key: str) -> None:
    try:
        _cache_client().get_client(write=True).publish(channel(), notice_id(session_key))
    except (RedisError, OSError, AttributeError):
        # AttributeError: a session cache that is not django-redis has no pub/sub to tell.
        logger.warning("could not publish a session's end; its open streams close on sweep")


def _cache_client() -> Any:
    return caches[accounts_settings.SESSION_CACHE_ALIAS].client  # type: ignore[attr-defined]
