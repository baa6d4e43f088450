"""The logins in progress an in-process site keeps in Redis, read and changed as a test needs:
to see what a login stored, to tamper with it, or to turn it into what an older version kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.cache import caches

from accounts.oidc.login_cookies import cookie_name, login_cookies
from accounts.oidc.login_states import entry_key


def state_in(url: str) -> str:
    """The ``state`` parameter of an authorization URL (without PAR) or of a callback URL."""
    return parse_qs(urlsplit(url).query)["state"][0]


def _cache():
    return caches["sessions"]


def entry(state: str) -> Any:
    return _cache().get(entry_key(state))


def change_entry(state: str, **changes: Any) -> None:
    key = entry_key(state)
    ttl = _cache().ttl(key)
    _cache().set(key, {**_cache().get(key), **changes}, ttl)


def login_cookie(client, state: str):
    """The browser's cookie for login ``state`` (a ``Morsel``), or None."""
    return client.cookies.get(cookie_name(state))


def login_cookie_names(client) -> set[str]:
    """The login cookies a test client holds (it keeps deleted ones, empty)."""
    return set(login_cookies({name: morsel.value for name, morsel in client.cookies.items()}))


def login_keys(redis_client) -> list[bytes]:
    return redis_client.keys("*:login-state:*")  # type: ignore[no-any-return]
