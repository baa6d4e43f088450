"""Who may use the admin, as the provider says: groups from ``OIDC_GROUPS_CLAIM`` set
``is_staff`` and ``is_superuser`` at every login (``OIDCBackend.update_user``).

A flag follows the claim only while a setting manages it, both ways: granted when the user is
in one of the groups, taken away when no longer. With the settings empty the flags are never
touched, so staff made by hand in the admin stay staff.
"""

from __future__ import annotations

from typing import Any

from accounts.conf import accounts_settings


def claimed_groups(claims: dict[str, Any]) -> list[str] | None:
    """The group names the ID token lists; None when no groups claim is configured, or the
    claim is neither a name nor a list of names."""
    claim = accounts_settings.OIDC_GROUPS_CLAIM
    if not claim:
        return None
    value = claims.get(claim, [])
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list):
        return None
    return [name for name in names if isinstance(name, str)]


def staff_flags(claims: dict[str, Any]) -> dict[str, bool]:
    """``is_staff`` and ``is_superuser`` as the claims set them; only the flags the settings
    manage are in the answer.

    A superuser is staff as well (without ``is_staff`` the admin lets nobody in), so either
    setting manages ``is_staff``. A claim that is missing or malformed counts as no groups: a
    privilege is taken away when the provider does not clearly grant it.
    """
    staff_groups = accounts_settings.OIDC_STAFF_GROUPS
    superuser_groups = accounts_settings.OIDC_SUPERUSER_GROUPS
    if not staff_groups and not superuser_groups:
        return {}
    groups = set(claimed_groups(claims) or ())
    superuser = bool(groups & superuser_groups)
    flags = {"is_staff": superuser or bool(groups & staff_groups)}
    if superuser_groups:
        flags["is_superuser"] = superuser
    return flags
