"""How to reach a person on their platform when they did not just write: the conversation
reference their platform gave with their last message (Slack: the DM channel; Teams: the
service URL, conversation id and tenant a proactive message needs). The inbox stores it
with each message that carries one (`Incoming.address`), in the same commit; the outbox's
renderer gives it to the transport with a message for that person (`Delivery.address`),
found by their platform user id or by email. A Teams install (the bot added to a person's
1:1 chat) stores it too, so a notice or a page reaches them before they ever wrote."""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot.store.connection import Connection
from bot.store.database import bookkeeping


def remember_in(
    conn: Connection,
    platform: str,
    user_id: str,
    email: str | None,
    reference: Mapping[str, str],
    at: str,
) -> None:
    """Store (or refresh) a person's address inside the caller's transaction."""
    conn.execute(
        "INSERT INTO addresses (platform, user_id, email, reference_json, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO UPDATE SET"
        " email = excluded.email, reference_json = excluded.reference_json,"
        " updated_at = excluded.updated_at",
        (platform, user_id, email, json.dumps(dict(reference), sort_keys=True), at),
    )


class Addresses:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def remember(
        self, platform: str, user_id: str, email: str | None, reference: Mapping[str, str], at: str
    ) -> None:
        """Store (or refresh) a person's address in a transaction of its own: the address
        a Teams install (`conversationUpdate`) gives, which is no message for the inbox."""
        with bookkeeping(self._conn) as conn:
            remember_in(conn, platform, user_id, email, reference, at)

    def of_user(self, platform: str, user_id: str) -> dict[str, str] | None:
        row = self._conn.execute(
            "SELECT reference_json FROM addresses WHERE platform = ? AND user_id = ?",
            (platform, user_id),
        ).fetchone()
        return _reference(row[0]) if row else None

    def of_email(self, platform: str, email: str) -> tuple[str, dict[str, str]] | None:
        """The user id and address of the person with this email on `platform` (the one
        who wrote last, should two accounts share it)."""
        row = self._conn.execute(
            "SELECT user_id, reference_json FROM addresses WHERE platform = ? AND email = ?"
            " ORDER BY updated_at DESC LIMIT 1",
            (platform, email.lower()),
        ).fetchone()
        return (str(row[0]), _reference(row[1])) if row else None


def _reference(text: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in json.loads(text).items()}
