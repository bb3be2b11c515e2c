"""Claiming outbox rows with a lease, so two replicas never deliver one row twice.

A replica's outbox worker claims the rows it is about to deliver in one statement: it
sets `claimed_by` (its name) and `lease_until` on due rows that nobody holds (never
claimed, released, or whose lease ran out: a replica that died) and gets them back
(`RETURNING`). A row is then delivered only by its holder; delivered or failed, the claim
is cleared. While a run lasts the worker renews its claims (`renew`), so a slow platform
does not let another replica take a row that is being sent. A row taken over after its
holder died may have been sent already: it has `sending_at`, and the worker asks the
platform before sending it again (`bot.outbox.worker`).

Which rows are due, besides the lease (as before: not delivered, `available_at` reached,
attempts left):

- a reply waits while an earlier reply of its conversation waits (a backoff) *or* is held
  by another replica: one conversation's replies go out in order, from one replica;
- every other kind (no conversation) waits while an earlier one is held by another
  replica: they go out one after another, in order, as with one process (a triage view
  and its update from two replicas at once would post twice);
- a reply carrying a secret, whose text waits in one replica's memory (`held_by`: that
  replica's `replica:` lease, `bot.replicas`), is claimed by that replica only, while
  the lease says it is alive;
  after it died, by anyone (the transport then says the secret could not be shown).

Claims, renewals and releases commit without waiting for `fsync` (`bookkeeping`): one
lost with the operating system is a claim nobody holds, which the next claim takes; the
next durable commit syncs it anyway. (Waiting for `fsync` on each halved the acks a
loaded process could give.)

SQLite: the statement runs inside `BEGIN IMMEDIATE` (`transaction`), which serialises the
claims of every process on the file. PostgreSQL: the inner SELECT takes the rows
`FOR UPDATE SKIP LOCKED` (`conn.dialect.skip_locked`, empty on SQLite), and the claim first
takes the named lock `CLAIM_LOCK` (`Connection.lock`, an advisory lock held to the claim's
commit). Decision: without it, two replicas claiming in the same instant would each miss
the other's uncommitted claim, so each could take one row of the same conversation (the
order rules above read other rows' claims) and replies would race. A per-conversation lock
cannot be taken before the claim knows its rows, and claiming only each conversation's
oldest row would send one reply per conversation per run; claims are one short indexed
statement, so letting them take turns -- as SQLite's write lock does -- costs nothing at a
helpdesk's volume and makes both order rules exact. SKIP LOCKED stays: a claim never waits
for a row another transaction (a delivery's update) holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import iso
from bot.replicas import alive_lease
from bot.store.connection import Connection
from bot.store.database import bookkeeping

MAX_ATTEMPTS = 10

CLAIM_LOCK = "outbox-claim"
"""The named lock outbox claims take turns under (nothing on SQLite: the write lock does)."""

ClaimedRow = tuple[int, str, str, str, str, int, "str | None", "str | None"]
"""id, dedupe_key, kind, recipient, payload_json, attempts, sending_at, conversation."""

_CLAIM = (
    "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE id IN ("
    "SELECT o.id FROM outbox o WHERE o.delivered_at IS NULL AND o.available_at <= ?"
    " AND o.attempts < ?"
    " AND (o.lease_until IS NULL OR o.lease_until < ? OR o.claimed_by = ?)"
    " AND (o.held_by IS NULL OR o.held_by = ? OR NOT EXISTS (SELECT 1 FROM leases l"
    "  WHERE l.name = o.held_by AND l.expires_at >= ?))"
    " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.id < o.id AND e.delivered_at IS NULL"
    "  AND e.attempts < ? AND ("
    "   (o.conversation IS NOT NULL AND e.conversation = o.conversation"
    "    AND (e.available_at > ? OR (e.claimed_by <> ? AND e.lease_until >= ?)))"
    "   OR (o.conversation IS NULL AND e.conversation IS NULL"
    "    AND e.claimed_by <> ? AND e.lease_until >= ?)))"
    " ORDER BY o.id LIMIT ?"
    "{skip_locked})"  # conn.dialect.skip_locked: FOR UPDATE SKIP LOCKED on PostgreSQL
    " RETURNING id, dedupe_key, kind, recipient, payload_json, attempts, sending_at,"
    " conversation"
)


def claim_due(
    conn: Connection, me: str, now: datetime, lease: timedelta, limit: int = 100
) -> list[ClaimedRow]:
    """Claim up to `limit` due rows for replica `me` until `now + lease`; oldest first."""
    at, until, alive = iso(now), iso(now + lease), alive_lease(me)
    params = (me, until, at, MAX_ATTEMPTS, at, me, alive, at, MAX_ATTEMPTS, at, me, at, me, at)
    with bookkeeping(conn) as c:
        c.lock(CLAIM_LOCK)
        sql = _CLAIM.format(skip_locked=c.dialect.skip_locked)
        rows = c.execute(sql, (*params, limit)).fetchall()
    claimed: list[ClaimedRow] = [tuple(r) for r in rows]
    return sorted(claimed, key=lambda r: r[0])


def renew(conn: Connection, me: str, now: datetime, lease: timedelta) -> int:
    """Extend every undelivered claim of `me`; return how many."""
    with bookkeeping(conn) as c:
        cursor = c.execute(
            "UPDATE outbox SET lease_until = ? WHERE claimed_by = ? AND delivered_at IS NULL"
            " AND lease_until IS NOT NULL",
            (iso(now + lease), me),
        )
        return cursor.rowcount


def release(conn: Connection, me: str, ids: list[int]) -> None:
    """End `me`'s claim on rows at the end of a run: one not delivered (not tried, or
    failed: due again later) is anyone's again; a delivered one keeps who delivered it."""
    if not ids:
        return
    with bookkeeping(conn) as c:
        c.executemany(
            "UPDATE outbox SET lease_until = NULL, claimed_by = CASE WHEN delivered_at IS NULL"
            " THEN NULL ELSE claimed_by END WHERE id = ? AND claimed_by = ?",
            [(row_id, me) for row_id in ids],
        )
