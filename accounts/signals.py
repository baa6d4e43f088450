"""Signals other apps can listen to.

``tokens_refreshed(sender, request, record)``: a refresh succeeded; ``record`` is the new
``TokenRecord``.

``session_ended(sender, request, user, reason)``: this app ended a session. ``reason`` is one of
``"refresh_token_rejected"`` (the provider answered invalid_grant: expired, revoked or reused),
``"id_token_mismatch"`` (a refreshed ID token names another issuer, subject or audience, or fails
validation) and ``"token_record_unreadable"`` (no key decrypts it any more).
"""

from django.dispatch import Signal

tokens_refreshed = Signal()
session_ended = Signal()
