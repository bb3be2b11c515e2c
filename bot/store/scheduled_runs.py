"""Each scheduled job's due runs, recorded once (`scheduled_runs`): the scheduler's leader
claims a job's due time before running it, so a due time runs once even when the leader
changes between two replicas' ticks (the primary key `(job, due_at)` refuses the second
claim on every backend)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from bot.store.connection import Connection
from bot.store.database import transaction


class ScheduledRuns:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, job: str, due_at: datetime, replica: str, now: datetime) -> bool:
        """True for the one caller that claims `job`'s run due at `due_at`."""
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO scheduled_runs (job, due_at, ran_by, started_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (job, due_at) DO NOTHING",
                (job, iso(due_at), replica, iso(now)),
            )
            return cursor.rowcount == 1

    def runs(self, job: str) -> list[tuple[str, str]]:
        """`(due_at, ran_by)` of every recorded run of `job`, oldest first."""
        rows = self._conn.execute(
            "SELECT due_at, ran_by FROM scheduled_runs WHERE job = ? ORDER BY due_at", (job,)
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]
