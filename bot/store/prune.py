"""Data retention: `helpdesk store prune` deletes what the bot no longer needs.

What each `[retention]` setting covers (days; 0 keeps that kind for ever):

- `dedupe_days`: processed event ids (`processed_events`), except the claim of a message
  still in the inbox; a platform redelivering an event older than this would have it
  processed again (Slack gives up retrying after minutes).
  The same setting covers the record of the scheduler's runs (`scheduled_runs`, one row
  per job and due time: a due time that old is never claimed again).
- `transcripts_days`: recent chat lines (`transcripts`) kept to attach to a new ticket; a
  ticket keeps its own copy in its history.
- `kb_searches_days`: knowledge searches and their feedback (`kb_searches`, `kb_events`),
  which `kb gaps` and `kb stats` read.
- `outbox_days`: delivered outbox rows. Undelivered and given-up rows stay (they are
  the evidence of a message that did not arrive), and so do the weekly reports' rows,
  a few a year, whose keys say a week's report went out.

Always: conversations whose waiting question expired. Never: tickets and their history,
approvals, the audit trail (append-only and hash-chained: deleting its oldest records
would break the chain `helpdesk audit verify` checks, and a brokerage keeps the record of
who did what to which account for years; archive it with `helpdesk audit export`).

Rows go in batches of `BATCH` per transaction, so a prune of a running bot's store holds
the write lock for milliseconds at a time. The file does not shrink (SQLite reuses the
freed pages); `VACUUM` with the bot stopped gives the space back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import iso
from bot.config import RetentionSettings
from bot.store.database import Database, transaction

BATCH = 5000


@dataclass(frozen=True)
class _Rule:
    table: str
    days: int | None  # None: no setting, always pruned by its own condition
    where: str  # each ? is the cutoff (for conversations: now)


def _rules(retention: RetentionSettings) -> list[_Rule]:
    return [
        _Rule(
            "processed_events",
            retention.dedupe_days,
            "received_at < ? AND NOT EXISTS (SELECT 1 FROM inbox i"
            " WHERE i.platform = processed_events.platform"
            " AND i.event_id = processed_events.event_id)",
        ),
        _Rule("scheduled_runs", retention.dedupe_days, "due_at < ?"),
        _Rule("transcripts", retention.transcripts_days, "at < ?"),
        _Rule(
            "kb_events",
            retention.kb_searches_days,
            "at < ? OR search_id IN (SELECT id FROM kb_searches WHERE at < ?)",
        ),
        _Rule("kb_searches", retention.kb_searches_days, "at < ?"),
        _Rule(
            "outbox",
            retention.outbox_days,
            "delivered_at IS NOT NULL AND delivered_at < ? AND dedupe_key NOT LIKE 'weekly:%'",
        ),
        _Rule("conversations", None, "expires_at < ?"),
    ]


def prune(
    db: Database, retention: RetentionSettings, now: datetime, dry_run: bool = False
) -> dict[str, int]:
    """Delete (or with `dry_run` count) the rows past their retention; rows per table."""
    counts: dict[str, int] = {}
    for rule in _rules(retention):
        if rule.days == 0:
            continue
        cutoff = iso(now if rule.days is None else now - timedelta(days=rule.days))
        where = rule.where
        params = (cutoff,) * where.count("?")
        if dry_run:
            (count,) = db.conn.execute(
                f"SELECT count(*) FROM {rule.table} WHERE {where}", params
            ).fetchone()
            counts[rule.table] = int(count)
            continue
        total = 0
        while True:
            with transaction(db.conn) as conn:
                rowid = conn.dialect.rowid
                cursor = conn.execute(
                    f"DELETE FROM {rule.table} WHERE {rowid} IN"
                    f" (SELECT {rowid} FROM {rule.table} WHERE {where} LIMIT {BATCH})",
                    params,
                )
            total += cursor.rowcount
            if cursor.rowcount < BATCH:
                break
        counts[rule.table] = total
    return counts
