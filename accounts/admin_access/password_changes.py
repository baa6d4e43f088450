"""A changed password ends the user's sessions, every one of them, everywhere.

Django logs a user's other sessions out after a password change by comparing a hash of the
password kept in each session, on that session's next page view. Proxied calls take the fast
path (accounts/edge: one Redis round trip, no database), which does not read the user's row;
so the sessions are ended here, at once, as an admin's revocation would end them. The session
that made the change is ended too: Django's password-change views then give it a new key
(``update_session_auth_hash``), with its data, and it goes on logged in.

Only full saves and saves that name ``password`` are looked at; logging in (which saves
``last_login`` alone) costs nothing here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

from accounts.sessions.live import end_sessions_of

_CHANGED = "_accounts_password_changed"


def _note_password_change(sender: Any, instance: Any, update_fields: Any = None, **_: Any) -> None:
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    setattr(instance, _CHANGED, stored is not None and stored != instance.password)


def _end_sessions_after_password_change(sender: Any, instance: Any, **_: Any) -> None:
    if getattr(instance, _CHANGED, False):
        setattr(instance, _CHANGED, False)
        end_sessions_of(instance.pk, reason="password_changed")


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(_note_password_change, sender=user_model, dispatch_uid=__name__ + ".pre")
    post_save.connect(
        _end_sessions_after_password_change, sender=user_model, dispatch_uid=__name__ + ".post"
    )
