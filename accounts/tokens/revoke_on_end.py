"""Revoking the refresh token of a session ended on purpose (RFC 7009).

Registered with ``accounts.sessions.ending`` for sessions ended from outside: by the admin, by the
user on their own page, and after a back-channel logout, since providers keep offline_access
grants alive across their own logout (oidc-provider and Auth0 do) and a refresh token nobody will
use is a liability. A session that ends in its own request (a lifetime ran out, the refresh token
was rejected, the record is unreadable) keeps today's behaviour: no revocation.
"""

from __future__ import annotations

from accounts.exceptions import TokenRecordUnreadable
from accounts.oidc.revocation import revoke_refresh_token
from accounts.sessions.ending import on_session_end
from accounts.sessions.records import Records
from accounts.tokens.cipher import decrypt_record
from accounts.tokens.record import RECORD_NAME, TokenRecord


def revoke_refresh_token_of(records: Records, reason: str) -> None:
    blob = records.get(RECORD_NAME)
    if not isinstance(blob, str):
        return  # no tokens, or a record of an unknown format: nothing to revoke with
    try:
        tokens = TokenRecord.from_json(decrypt_record(blob))
    except TokenRecordUnreadable:
        return
    if tokens.refresh_token:
        revoke_refresh_token(tokens.refresh_token)


on_session_end(revoke_refresh_token_of)
