"""Signals other apps can listen to.

``tokens_refreshed(sender, request, record)``: a refresh succeeded; ``record`` is the new
``TokenRecord``.

``session_ended(sender, request, user, reason)``: a session ended, sent once whichever way it
ended; ``request`` is None when it was ended from outside its own request. ``reason`` is one of
``SESSION_END_REASONS`` (docs/extending.md lists the same words, and a test holds them equal):

- ``logged_out``: the user logged out (``POST /auth/logout/``);
- ``absolute_lifetime``, ``inactivity_timeout``: one of the session policy's clocks ran out;
- ``refresh_token_rejected``: the provider refused the refresh token (expired, revoked, reused);
- ``id_token_mismatch``: a refreshed ID token names another issuer, subject or audience, or
  fails validation;
- ``token_record_unreadable``: no key in ``TOKEN_ENCRYPTION_KEYS`` decrypts the tokens any more;
- ``revoked_by_admin``: ended in the admin's live-session list;
- ``ended_by_user``: ended by the user from another session (``/account/session/``);
- ``backchannel_logout``: the provider said the user logged out there;
- ``password_changed``: the user's password was changed (break-glass password accounts).
"""

from typing import Literal, get_args

from django.dispatch import Signal

EndReason = Literal[
    "logged_out",
    "absolute_lifetime",
    "inactivity_timeout",
    "refresh_token_rejected",
    "id_token_mismatch",
    "token_record_unreadable",
    "revoked_by_admin",
    "ended_by_user",
    "backchannel_logout",
    "password_changed",
]
SESSION_END_REASONS: tuple[EndReason, ...] = get_args(EndReason)

tokens_refreshed = Signal()
session_ended = Signal()
