"""Inbox rows held by the replica that processes them, with a lease.

The replica that acknowledged a message stores it claimed by itself (`claimed_by`,
`lease_until`: `bot.inbox.store`) and processes it; its heartbeat renews the leases of
the rows it holds (`renew`). A replica that dies leaves its rows; once their lease has
run out another replica takes them over (`take_over`) and processes them -- which repeats
no effect (`bot.store.request_scope`) and no reply (the outbox's dedupe keys). At start a
replica takes back at once the rows its own previous run left (same `HELPDESK_REPLICA_ID`)
and the rows nobody holds (stored before leases existed).

One person's messages in one place are processed in order: a message waits while an
earlier one of its conversation is held by another live replica (`held_elsewhere`). If
that replica died, the wait lasts until the earlier message's lease runs out and a
replica takes it over (at most `HELPDESK_LEASE_S`): rare (the same person's two messages
acknowledged by two replicas, the first replica dying before it answered) and preferred
to answering them out of order.

Claims, renewals and releases commit without waiting for `fsync` (`bookkeeping`): one
lost with the operating system is a claim nobody holds, which the next claim takes; the
next durable commit syncs it anyway. (Waiting for `fsync` on each halved the acks a
loaded process could give.)

Claims are single UPDATE ... WHERE id IN (SELECT ...) RETURNING statements inside
`BEGIN IMMEDIATE` (SQLite serialises them); on PostgreSQL the inner SELECT ends with
`conn.dialect.skip_locked` (`FOR UPDATE SKIP LOCKED`) and take-overs take turns under the
named lock `TAKE_LOCK`, as outbox claims do (`bot.outbox.claim`, for the reason).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import iso
from bot.store.connection import Connection
from bot.store.database import bookkeeping

TAKE_LOCK = "inbox-take"
"""The named lock take-overs take turns under (nothing on SQLite: the write lock does)."""

TakenRow = tuple[int, str, str, str, str]
"""id, conversation, incoming_json, route_json, received_at."""

_TAKE = (
    "UPDATE inbox SET claimed_by = ?, lease_until = ? WHERE id IN ("
    "SELECT id FROM inbox WHERE claimed_by IS NULL OR lease_until < ?{mine}"
    " ORDER BY id LIMIT ?{skip_locked})"  # conn.dialect.skip_locked
    " RETURNING id, conversation, incoming_json, route_json, received_at"
)


def take_over(
    conn: Connection,
    me: str,
    now: datetime,
    lease: timedelta,
    *,
    own_too: bool = False,
    limit: int = 1000,
) -> list[TakenRow]:
    """Claim for `me` the rows nobody holds or whose lease ran out (with `own_too`, at
    start: `me`'s own as well, left by its previous run); oldest first."""
    mine = " OR claimed_by = ?" if own_too else ""
    params: tuple[object, ...] = (me, iso(now + lease), iso(now))
    if own_too:
        params += (me,)
    with bookkeeping(conn) as c:
        c.lock(TAKE_LOCK)
        sql = _TAKE.format(mine=mine, skip_locked=c.dialect.skip_locked)
        rows = c.execute(sql, (*params, limit)).fetchall()
    taken: list[TakenRow] = [tuple(r) for r in rows]
    return sorted(taken, key=lambda r: r[0])


def renew(conn: Connection, me: str, now: datetime, lease: timedelta) -> int:
    """Extend the lease of every row `me` holds; return how many."""
    with bookkeeping(conn) as c:
        cursor = c.execute(
            "UPDATE inbox SET lease_until = ? WHERE claimed_by = ?", (iso(now + lease), me)
        )
        return cursor.rowcount


def held_elsewhere(
    conn: Connection, conversation: str, row_id: int, me: str, now: datetime
) -> bool:
    """Whether an earlier message of `conversation` is held by another live replica."""
    row = conn.execute(
        "SELECT 1 FROM inbox WHERE conversation = ? AND id < ? AND claimed_by <> ?"
        " AND lease_until >= ? LIMIT 1",
        (conversation, row_id, me, iso(now)),
    ).fetchone()
    return row is not None
