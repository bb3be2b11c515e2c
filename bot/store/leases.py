"""Named leases with an expiry: who leads the scheduler, which replicas are alive.

A lease is one row (`leases`): its `name`, the `holder` (a replica's instance, see
`bot.replicas`) and when it runs out (`expires_at`). `acquire` takes a free or expired
lease, or renews one the caller already holds, in one statement (an upsert whose update
applies only when the row is the caller's or has expired), so two processes can never
both hold it: the store serialises the statement (SQLite: the write lock; PostgreSQL: the
row lock `ON CONFLICT` takes). A holder that dies simply stops renewing; once its lease
has run out the next `acquire` by anyone takes it over. `release` gives it up at once
(a clean stop), so a successor does not wait out the lease.

Claims, renewals and releases commit without waiting for `fsync` (`bookkeeping`): one
lost with the operating system is a claim nobody holds, which the next claim takes; the
next durable commit syncs it anyway. (Waiting for `fsync` on each halved the acks a
loaded process could give.)

Times are computed here (`iso` text, fixed width, compared as text) rather than by the
database, so the SQL is the same on every backend and a test clock decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import iso, parse_iso
from bot.store.connection import Connection
from bot.store.database import bookkeeping


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


class Leases:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def acquire(self, name: str, holder: str, now: datetime, length: timedelta) -> bool:
        """Take `name` for `holder` until `now + length` (or renew it); False when another
        holder's lease has not run out."""
        at, until = iso(now), iso(now + length)
        with bookkeeping(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " acquired_at = CASE WHEN leases.holder = excluded.holder"
                " THEN leases.acquired_at ELSE excluded.acquired_at END,"
                " renewed_at = excluded.renewed_at, expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at < excluded.renewed_at",
                (name, holder, at, at, until),
            )
            return cursor.rowcount == 1

    def release(self, name: str, holder: str) -> bool:
        """Give `name` up now if `holder` holds it."""
        with bookkeeping(self._conn) as conn:
            cursor = conn.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )
            return cursor.rowcount == 1

    def current(self, name: str, now: datetime) -> Lease | None:
        """Who holds `name` now (None: nobody, or the lease ran out)."""
        row = self._conn.execute(
            "SELECT name, holder, acquired_at, expires_at FROM leases"
            " WHERE name = ? AND expires_at >= ?",
            (name, iso(now)),
        ).fetchone()
        if row is None:
            return None
        return Lease(row[0], row[1], parse_iso(row[2]), parse_iso(row[3]))
