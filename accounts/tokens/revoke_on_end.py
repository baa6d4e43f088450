"""Revoking the refresh token of a session ended on purpose (RFC 7009).

Registered with ``accounts.sessions.ending`` for every session that ends: the user's logout, the
admin, the user's own page, a back-channel logout, and its absolute lifetime or inactivity
timeout running out. Providers keep offline_access grants alive across their own logout
(oidc-provider and Auth0 do), and a refresh token nobody will use again is a liability.

Not when the refresh token is already dead: the provider rejected it (``invalid_grant``), or no
key decrypts the record.
"""

from __future__ import annotations

from accounts.exceptions import TokenRecordUnreadable
from accounts.oidc.revocation import revoke_refresh_token
from accounts.sessions.ending import on_session_end
from accounts.sessions.records import Records
from accounts.tokens.cipher import decrypt_record
from accounts.tokens.record import RECORD_NAME, TokenRecord

# The session ended because its refresh token is dead already: nothing to revoke.
_DEAD_ALREADY = frozenset({"refresh_token_rejected", "token_record_unreadable"})


def revoke_refresh_token_of(records: Records, reason: str) -> None:
    if reason in _DEAD_ALREADY:
        return
    blob = records.get(RECORD_NAME)
    if not isinstance(blob, str):
        return  # no tokens, or a record of an unknown format: nothing to revoke with
    try:
        tokens = TokenRecord.from_json(decrypt_record(blob))
    except TokenRecordUnreadable:
        return
    if tokens.refresh_token:
        revoke_refresh_token(tokens.refresh_token)


on_session_end(revoke_refresh_token_of, also_in_request=True)
