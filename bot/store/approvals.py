"""Approval requests for self-service actions, each answerable once, by one person.

A request names its action, the requester (platform id, verified email, the target
account's directory id) and the one approver (by directory id). The approver's buttons
carry the request id and a one-time nonce; only the nonce's SHA-256 is stored, so a
copy of the database cannot approve anything. State moves pending → approved → used,
or pending → denied; each move is one conditional UPDATE, so two clicks cannot both
win. A request expires `approval_minutes` after it was made, and an approval expires
the same time after it was given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, iso, parse_iso, utcnow
from bot.store.database import Database, transaction

_COLUMNS = (
    "id, action, requester_platform, requester_user_id, requester_email, requester_lang,"
    " target, approver_email, approver_id, approver_kind, created_at, expires_at, state,"
    " subject, subject_name"
)


@dataclass(frozen=True)
class Approval:
    id: int
    action: str
    requester_platform: str
    requester_user_id: str
    requester_email: str
    requester_lang: str
    target: str
    approver_email: str
    approver_id: str
    approver_kind: str
    created_at: datetime
    expires_at: datetime
    state: str
    subject: str = ""
    """What the action is about besides the target account (a group's id)."""
    subject_name: str = ""


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


class Approvals:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def create(
        self,
        *,
        action: str,
        requester_platform: str,
        requester_user_id: str,
        requester_email: str,
        requester_lang: str,
        target: str,
        approver_email: str,
        approver_id: str,
        approver_kind: str,
        lifetime: timedelta,
        subject: str = "",
        subject_name: str = "",
    ) -> tuple[Approval, str]:
        """Store a pending request; return it and its nonce (which is not stored)."""
        nonce = secrets.token_urlsafe(18)
        now = self._clock()
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO approvals (nonce_hash, action, requester_platform,"
                " requester_user_id, requester_email, requester_lang, target, approver_email,"
                " approver_id, approver_kind, created_at, expires_at, subject, subject_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    _digest(nonce),
                    action,
                    requester_platform,
                    requester_user_id,
                    requester_email,
                    requester_lang,
                    target,
                    approver_email,
                    approver_id,
                    approver_kind,
                    iso(now),
                    iso(now + lifetime),
                    subject,
                    subject_name,
                ),
            )
            number = int(cursor.fetchone()[0])
        approval = self.get(number)
        assert approval is not None
        return approval, nonce

    def get(self, approval_id: int) -> Approval | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)
        ).fetchone()
        if row is None:
            return None
        values = list(row)
        values[10] = parse_iso(values[10])
        values[11] = parse_iso(values[11])
        return Approval(*values)

    def nonce_matches(self, approval_id: int, nonce: str) -> bool:
        row = self._conn.execute(
            "SELECT nonce_hash FROM approvals WHERE id = ?", (approval_id,)
        ).fetchone()
        return row is not None and hmac.compare_digest(str(row[0]), _digest(nonce))

    def expired(self, approval: Approval) -> bool:
        return self._clock() >= approval.expires_at

    def decide(self, approval_id: int, approve: bool, lifetime: timedelta) -> bool:
        """pending → approved (valid for `lifetime` more) or denied; False if already decided."""
        now = self._clock()
        with transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE approvals SET state = ?, decided_at = ?, expires_at = ?"
                " WHERE id = ? AND state = 'pending' AND expires_at > ?",
                (
                    "approved" if approve else "denied",
                    iso(now),
                    iso(now + lifetime),
                    approval_id,
                    iso(now),
                ),
            )
        return cursor.rowcount == 1

    def use(self, approval_id: int) -> bool:
        """approved → used, once; False if not approved, already used or expired."""
        now = iso(self._clock())
        with transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE approvals SET state = 'used', used_at = ?"
                " WHERE id = ? AND state = 'approved' AND expires_at > ?",
                (now, approval_id, now),
            )
        return cursor.rowcount == 1

    def waiting_for(self, approver_id: str) -> list[Approval]:
        """The unexpired requests waiting for this approver's answer, oldest first."""
        rows = self._conn.execute(
            "SELECT id FROM approvals WHERE approver_id = ? AND state = 'pending'"
            " AND expires_at > ? ORDER BY id",
            (approver_id, iso(self._clock())),
        ).fetchall()
        return [a for a in (self.get(int(row[0])) for row in rows) if a is not None]

    def asked_by(self, requester_email: str) -> list[Approval]:
        """The requester's unexpired requests still pending or approved but not yet used,
        newest first: what "has it been approved?" is about."""
        rows = self._conn.execute(
            "SELECT id FROM approvals WHERE requester_email = ?"
            " AND state IN ('pending', 'approved') AND expires_at > ? ORDER BY id DESC",
            (requester_email, iso(self._clock())),
        ).fetchall()
        return [a for a in (self.get(int(row[0])) for row in rows) if a is not None]

    def open_for(self, target: str, action: str, subject: str = "") -> Approval | None:
        """The newest pending or approved, unexpired request for this account and action."""
        row = self._conn.execute(
            "SELECT id FROM approvals WHERE target = ? AND action = ? AND subject = ?"
            " AND state IN ('pending', 'approved') AND expires_at > ? ORDER BY id DESC LIMIT 1",
            (target, action, subject, iso(self._clock())),
        ).fetchone()
        return None if row is None else self.get(int(row[0]))
