"""Which posted messages stand for which ticket: a ticket's triage post (updated in place,
its thread holds the engineers' conversation) and the requester's copies of its notices
(a reply in their thread is a comment). Written when the outbox delivers them; read by the
outbox (where a thread line goes, which post a new view replaces) and the ticket service
(which ticket a thread message is about)."""

from __future__ import annotations

from bot.messages import MessageRef
from bot.store.connection import Connection


class MessageLinks:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def triage_post(self, ticket: int) -> MessageRef | None:
        """The ticket's triage post, once delivered."""
        row = self._conn.execute(
            "SELECT message_ref FROM triage_posts WHERE ticket_id = ?", (ticket,)
        ).fetchone()
        return MessageRef.parse(str(row[0])) if row else None

    def record_triage_post(self, ticket: int, channel: str, ref: str, version: int) -> None:
        """The first post of a ticket's view (later versions update it: only the version)."""
        self._conn.execute(
            "INSERT INTO triage_posts (ticket_id, channel, message_ref, version)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id) DO UPDATE SET"
            " version = excluded.version",
            (ticket, channel, ref, version),
        )

    def record_notice_copy(self, ref: str, ticket: int) -> None:
        """The requester's copy of a notice: a reply in its thread is a comment."""
        self._conn.execute(
            "INSERT INTO ticket_threads (message_ref, ticket_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            (ref, ticket),
        )

    def ticket_of_triage_thread(self, ref: str) -> int | None:
        row = self._conn.execute(
            "SELECT ticket_id FROM triage_posts WHERE message_ref = ?", (ref,)
        ).fetchone()
        return int(row[0]) if row else None

    def ticket_of_notice_thread(self, ref: str) -> int | None:
        row = self._conn.execute(
            "SELECT ticket_id FROM ticket_threads WHERE message_ref = ?", (ref,)
        ).fetchone()
        return int(row[0]) if row else None
