"""The one HTTP client that talks to the identity provider.

A shared ``requests.Session`` keeps connections to the provider alive across requests in a
process; every call has a (connect, read) timeout, and every transport failure becomes
``ProviderUnavailable``, so no caller forgets one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from accounts.conf import accounts_settings
from accounts.exceptions import ProviderTimedOut, ProviderUnavailable

logger = logging.getLogger(__name__)

_session = requests.Session()
_session.headers["User-Agent"] = "oidc-bff"


def provider_get_json(url: str) -> dict[str, Any]:
    """GET a JSON document (discovery, JWKS) from the provider."""
    try:
        response = _session.get(url, timeout=accounts_settings.OIDC_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        logger.warning("provider unreachable: GET %s failed: %s", url, type(exc).__name__)
        raise ProviderUnavailable(f"The identity provider could not be reached ({url}).") from exc
    if response.status_code != 200:
        logger.warning("provider answered GET %s with %s", url, response.status_code)
        raise ProviderUnavailable(f"The identity provider answered {response.status_code}.")
    return json_object(response, url)


def provider_post_form(
    url: str,
    data: Mapping[str, str] | list[tuple[str, str]],
    *,
    auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
) -> requests.Response:
    """POST a form (token, revocation, pushed authorization) to the provider and return the
    response as it came. ``data`` as pairs keeps repeated names (``resource``).

    Transport failures raise ``ProviderUnavailable``, and ``ProviderTimedOut`` when the request
    went out but no answer came in time (the provider may still act on it). HTTP errors are for
    the caller to read, since an OAuth error body (``invalid_grant``...) means something
    different from a 503. ``timeout`` is (connect, read), ``OIDC_HTTP_TIMEOUT`` by default.
    """
    try:
        return _session.post(
            url,
            data=data,
            auth=auth,
            headers=headers,
            timeout=timeout or accounts_settings.OIDC_HTTP_TIMEOUT,
        )
    except requests.ReadTimeout as exc:
        logger.warning("provider did not answer POST %s in time", url)
        raise ProviderTimedOut("The identity provider did not answer in time.") from exc
    except requests.RequestException as exc:
        logger.warning("provider unreachable: POST %s failed: %s", url, type(exc).__name__)
        raise ProviderUnavailable("The identity provider could not be reached.") from exc


def json_object(response: requests.Response, url: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError as exc:
        raise ProviderUnavailable(
            f"The identity provider sent something that is not JSON ({url})."
        ) from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"The identity provider sent an unexpected document ({url}).")
    return document
