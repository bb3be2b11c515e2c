"""The audit trail: append-only, hash-chained records of every self-service action.

Each record holds who acted (platform id and directory id), on what, which action,
which verification was used, the outcome and why, and is chained to the previous
record by SHA-256 over a canonical JSON form. SQLite triggers refuse UPDATE and
DELETE; `verify` walks the chain and names the first broken link, which catches
an edited, deleted or reordered record and a gap in the sequence. (Cutting off
the newest records leaves a valid shorter chain; detecting that needs the head
hash kept elsewhere, which the audit issue adds with `helpdesk audit verify`.)

No secret ever goes into a record: callers pass outcomes and reasons, not values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.clock import Clock, iso, utcnow
from bot.store.database import transaction

GENESIS = "0" * 64
_FIELDS = (
    "seq",
    "at",
    "actor_platform",
    "actor_id",
    "actor_directory_id",
    "target",
    "action",
    "verification",
    "outcome",
    "reason",
    "ticket",
    "request_id",
)


@dataclass(frozen=True)
class AuditEntry:
    """One thing to record. `outcome` is done, refused or failed."""

    actor_platform: str
    actor_id: str
    actor_directory_id: str | None
    target: str | None
    action: str
    verification: str
    outcome: str
    reason: str = ""
    ticket: str | None = None
    request_id: str | None = None


def record_hash(prev_hash: str, row: dict[str, object]) -> str:
    canonical = json.dumps(
        {k: row[k] for k in _FIELDS}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, db: sqlite_utils.Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def append(self, entry: AuditEntry) -> int:
        """Write one record, chained to the last; return its sequence number."""
        with transaction(self._conn) as conn:
            last = conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            row: dict[str, object] = {
                "seq": seq,
                "at": iso(self._clock()),
                "actor_platform": entry.actor_platform,
                "actor_id": entry.actor_id,
                "actor_directory_id": entry.actor_directory_id,
                "target": entry.target,
                "action": entry.action,
                "verification": entry.verification,
                "outcome": entry.outcome,
                "reason": entry.reason,
                "ticket": entry.ticket,
                "request_id": entry.request_id,
            }
            digest = record_hash(prev, row)
            conn.execute(
                f"INSERT INTO audit_log ({', '.join(_FIELDS)}, prev_hash, hash)"
                f" VALUES ({', '.join('?' * (len(_FIELDS) + 2))})",
                (*[row[k] for k in _FIELDS], prev, digest),
            )
        return seq

    def count(self, directory_id: str, action: str, outcome: str, since: datetime) -> int:
        """How many `action`s with `outcome` were recorded for a target since a time."""
        row = self._conn.execute(
            "SELECT count(*) FROM audit_log WHERE target = ? AND action = ? AND outcome = ?"
            " AND at >= ?",
            (directory_id, action, outcome, iso(since)),
        ).fetchone()
        return int(row[0])

    def last_time(self, directory_id: str, action: str, outcome: str) -> str | None:
        row = self._conn.execute(
            "SELECT max(at) FROM audit_log WHERE target = ? AND action = ? AND outcome = ?",
            (directory_id, action, outcome),
        ).fetchone()
        return None if row[0] is None else str(row[0])

    def verify(self) -> tuple[int, str | None]:
        """Walk the chain. Return (records checked, first problem or None)."""
        prev = GENESIS
        expected_seq = 1
        checked = 0
        cursor = self._conn.execute(
            f"SELECT {', '.join(_FIELDS)}, prev_hash, hash FROM audit_log ORDER BY seq"
        )
        for values in cursor:
            row = dict(zip((*_FIELDS, "prev_hash", "hash"), values, strict=True))
            seq = row["seq"]
            if seq != expected_seq:
                return checked, f"record {expected_seq} is missing (next is {seq})"
            if row["prev_hash"] != prev:
                return checked, f"record {seq} does not follow record {seq - 1}"
            if record_hash(prev, row) != row["hash"]:
                return checked, f"record {seq} was altered"
            prev = str(row["hash"])
            expected_seq += 1
            checked += 1
        return checked, None
