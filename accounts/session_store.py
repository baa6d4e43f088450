"""Moved to ``accounts.sessions.store``; kept so ``SESSION_ENGINE = "accounts.session_store"``
goes on working until 1.0 (see CHANGELOG.md)."""

from accounts.sessions.store import SessionStore

__all__ = ["SessionStore"]
