"""Pending conversation flows ("which printer?" → the answer), kept across restarts.

A conversation key is platform + conversation + thread + actor, so two people in
one channel thread never answer each other's questions. A flow expires after
`conversation.timeout_minutes`; an expired flow is ignored and the message is
understood afresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock, iso, utcnow
from bot.messages import Incoming, Lang
from bot.redact import SecretContext
from bot.store.database import Database, bookkeeping


@dataclass(frozen=True)
class PendingFlow:
    """A question the bot asked and is waiting for an answer to.

    `context` says whether the question was about a password: then a lone
    password-shaped answer is masked as one (`bot.redact`)."""

    flow: str
    state: dict[str, Any]
    lang: Lang
    context: SecretContext = SecretContext.NONE


def conversation_key(msg: Incoming) -> str:
    return "|".join((msg.platform, msg.conversation_id, msg.thread_id or "", msg.actor.user_id))


class ConversationStore:
    def __init__(self, db: Database, timeout: timedelta, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._timeout = timeout
        self._clock = clock

    def get(self, key: str) -> PendingFlow | None:
        row = self._conn.execute(
            "SELECT flow, state_json, lang, secret_context FROM conversations"
            " WHERE conversation_key = ? AND expires_at > ?",
            (key, iso(self._clock())),
        ).fetchone()
        if row is None:
            return None
        return PendingFlow(
            flow=row[0], state=json.loads(row[1]), lang=row[2], context=SecretContext(row[3])
        )

    def put(self, key: str, flow: PendingFlow) -> None:
        now = self._clock()
        with bookkeeping(self._conn) as conn:
            conn.execute(
                "INSERT INTO conversations (conversation_key, flow, state_json, lang,"
                " secret_context, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (conversation_key) DO UPDATE SET flow = excluded.flow,"
                " state_json = excluded.state_json, lang = excluded.lang,"
                " secret_context = excluded.secret_context,"
                " updated_at = excluded.updated_at, expires_at = excluded.expires_at",
                (
                    key,
                    flow.flow,
                    json.dumps(flow.state, ensure_ascii=False),
                    flow.lang,
                    flow.context.value,
                    iso(now),
                    iso(now + self._timeout),
                ),
            )

    def clear(self, key: str) -> None:
        with bookkeeping(self._conn) as conn:
            conn.execute("DELETE FROM conversations WHERE conversation_key = ?", (key,))
