"""The audit trail: append-only, hash-chained records of every self-service action.

Each record holds who acted (platform id and directory id), on what, which action,
which verification was used, the outcome and why, and is chained to the previous
record by SHA-256 over a canonical JSON form. SQLite triggers refuse UPDATE and
DELETE; `verify` walks the chain and names the first broken link, which catches
an edited, deleted or reordered record and a gap in the sequence.

Cutting off the newest records leaves a valid shorter chain, so the head of the
chain is also kept outside the table: after every append the *anchor* file beside
the database (`helpdesk.db.audit-head`, JSON `{"seq": N, "hash": "..."}`) is
rewritten atomically (a temporary file, then a rename). `verify` reads the anchor
first and then reports records missing at the end (anchor seq past the last
record), a record whose stored hash differs from the anchor's (the chain was
rewritten from there), an unreadable anchor, and a missing anchor while the table
has records: deleting the anchor is how one would hide a truncation, so that is a
failure too. A store from before anchors (or one whose anchor was lost) gets one
with `helpdesk audit anchor`, which writes it only after the chain verifies and
never over an anchor that contradicts the table; appends never create a missing
anchor except for the very first record, so the alarm stays until someone looks.

The anchor is a lower bound. It is written after the record's COMMIT, under the
store's write lock (a second, empty `BEGIN IMMEDIATE`, so concurrent writers cannot
move it backwards), and only forward from an anchor that still matches the table.
A crash between the COMMIT and the anchor write leaves the anchor behind the
table, which `verify` accepts: it checks the stored hash at the anchor's seq. The
anchor can never be ahead of the table except by truncation. Failing to write the
anchor (disk full, permissions) is logged, never raised: the record is committed
and the action it records has happened.

Durability (fsync): the temporary file is fsynced before the rename; the directory
is not. Measured on ext4 (a store in a temporary directory, 5 runs of 2,000
appends, median, `synchronous=FULL`): an append without an anchor 0.42 ms; with
the anchor and no fsync 1.00 ms (most of it is ext4 flushing a file replaced by
rename); with the file fsync 1.60 ms; with the file and the directory fsync
2.17 ms. Without the file fsync a power cut can publish the rename before the data
and leave an empty anchor, which `verify` must report as unreadable: a false alarm
on exactly the day someone checks. The directory fsync only makes the rename
itself durable; losing it brings back the previous anchor, a lower bound that
passes (the one exception, the very first anchor of a store, shows as missing and
`helpdesk audit anchor` fixes it). So the file fsync (+0.6 ms) and not the
directory's (+0.6 ms more): audit appends happen once per self-service action, not
per chat message, and about 1.2 ms per action is nothing next to the directory call.

The anchor protects against someone who cuts the table and does not also rewrite
the anchor; whoever can write both files can do both. Copy the anchor (or the
output of `helpdesk audit verify`) off the machine if that matters.

No secret ever goes into a record: callers pass outcomes and reasons, not values.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.clock import Clock, iso, utcnow
from bot.store.connection import Connection
from bot.store.database import Database, store_errors, transaction

#: What moving the anchor may raise (logged, never raised: the record is committed).
_ANCHOR_ERRORS: tuple[type[Exception], ...] = (OSError, *store_errors())

log = logging.getLogger(__name__)

GENESIS = "0" * 64
ANCHOR_SUFFIX = ".audit-head"
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
EXPORT_FIELDS = (*_FIELDS, "prev_hash", "hash")
_HEX64 = re.compile(r"[0-9a-f]{64}")


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


@dataclass(frozen=True)
class Anchor:
    """The head of the chain as last written outside the table: its seq and hash."""

    seq: int
    hash: str


class AnchorError(Exception):
    """The anchor file exists but cannot be read or does not hold an anchor."""


class AuditProblem(Exception):
    """The trail does not verify (the message names the first problem)."""


def record_hash(prev_hash: str, row: dict[str, object]) -> str:
    canonical = json.dumps(
        {k: row[k] for k in _FIELDS}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def anchor_path_for(db_file: Path) -> Path:
    """Where the anchor of the store at `db_file` lives: `<db file name>.audit-head` beside it."""
    return db_file.with_name(db_file.name + ANCHOR_SUFFIX)


def read_anchor(path: Path) -> Anchor | None:
    """The anchor at `path`, None if there is no such file; `AnchorError` if it is unusable."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorError(str(exc)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnchorError(f"not JSON: {exc}") from None
    seq = data.get("seq") if isinstance(data, dict) else None
    digest = data.get("hash") if isinstance(data, dict) else None
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or not isinstance(digest, str)
        or not _HEX64.fullmatch(digest)
        or (seq == 0 and digest != GENESIS)
    ):
        raise AnchorError('expected {"seq": N, "hash": "<64 hex digits>"}')
    return Anchor(seq, digest)


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Replace the anchor atomically: write and fsync a temporary file, then rename it."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            json.dump({"seq": anchor.seq, "hash": anchor.hash}, f)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


#: The named lock audit appends take on PostgreSQL (`Connection.lock`): replicas append
#: one at a time, so each record chains to the one before and none is numbered twice.
CHAIN_LOCK = "audit-chain"


def next_link(conn: Connection) -> tuple[int, str]:
    """The next record's seq and the hash it chains to, inside the caller's write
    transaction: the one place an append reads the chain's head. It first takes
    `CHAIN_LOCK` (`Connection.lock`): on PostgreSQL an advisory lock held until the
    transaction ends, so replicas append one at a time; on SQLite nothing, as the
    transaction's `BEGIN IMMEDIATE` already holds the write lock from this read until the
    insert commits. Either way two processes never fork the chain."""
    conn.lock(CHAIN_LOCK)
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)


class AuditLog:
    """The audit trail of `db`, with its anchor file at `anchor_path`.

    SQLite: the anchor is beside the store's file unless another path is given (None for
    an in-memory store: no anchor is kept or checked). PostgreSQL: the serving replicas
    keep none -- they share no disk, and a row in the same database would protect nothing
    (whoever can cut the table can rewrite the row); `helpdesk audit anchor`, run on a
    schedule, verifies the chain and writes the anchor file it is given, for the operator
    to ship to write-once storage (README, "Operations").
    """

    def __init__(
        self, db: Database, clock: Clock = utcnow, anchor_path: Path | None = None
    ) -> None:
        self._conn: Connection = db.conn
        self._clock = clock
        if anchor_path is None and db.path is not None:
            anchor_path = anchor_path_for(db.path)
        self.anchor_path: Path | None = anchor_path

    def append(self, entry: AuditEntry) -> int:
        """Write one record, chained to the last, then move the anchor; return its seq."""
        with transaction(self._conn) as conn:
            seq, prev = next_link(conn)
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
        self._advance_anchor(seq)
        return seq

    def _advance_anchor(self, written: int) -> None:
        """Move the anchor to the table's head, never backwards nor off a contradicting one."""
        path = self.anchor_path
        if path is None:
            return
        try:
            with transaction(self._conn) as conn:
                conn.lock(CHAIN_LOCK)
                try:
                    current = read_anchor(path)
                except AnchorError as exc:
                    log.warning("audit: anchor %s is unreadable (%s); not moving it", path, exc)
                    return
                seq, digest = conn.execute(
                    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                if current is None:
                    if written != 1:
                        log.warning(
                            "audit: no anchor %s; run `helpdesk audit verify`, then"
                            " `helpdesk audit anchor`",
                            path,
                        )
                        return
                elif current.seq >= seq:
                    if current.seq > seq:
                        log.warning(
                            "audit: anchor %s is at record %d, past the table's %d;"
                            " run `helpdesk audit verify`",
                            path,
                            current.seq,
                            seq,
                        )
                    return
                elif current.seq > 0:
                    stored = conn.execute(
                        "SELECT hash FROM audit_log WHERE seq = ?", (current.seq,)
                    ).fetchone()
                    if stored is None or stored[0] != current.hash:
                        log.warning(
                            "audit: anchor %s does not match record %d; not moving it;"
                            " run `helpdesk audit verify`",
                            path,
                            current.seq,
                        )
                        return
                write_anchor(path, Anchor(int(seq), str(digest)))
        except _ANCHOR_ERRORS as exc:
            log.error(
                "audit: record %d is stored but the anchor %s was not moved: %s", written, path, exc
            )

    def count(self, directory_id: str, action: str, outcome: str, since: datetime) -> int:
        """How many `action`s with `outcome` were recorded for a target since a time."""
        row = self._conn.execute(
            "SELECT count(*) FROM audit_log WHERE target = ? AND action = ? AND outcome = ?"
            " AND at >= ?",
            (directory_id, action, outcome, iso(since)),
        ).fetchone()
        return int(row[0])

    def count_all(
        self, action: str, outcome: str, since: datetime, *, actor: str | None = None
    ) -> int:
        """How many `action`s with `outcome` were recorded since a time, for any target
        (or done by one actor's directory id)."""
        sql = "SELECT count(*) FROM audit_log WHERE action = ? AND outcome = ? AND at >= ?"
        params: list[object] = [action, outcome, iso(since)]
        if actor is not None:
            sql += " AND actor_directory_id = ?"
            params.append(actor)
        return int(self._conn.execute(sql, params).fetchone()[0])

    def last_time(self, directory_id: str, action: str, outcome: str) -> str | None:
        row = self._conn.execute(
            "SELECT max(at) FROM audit_log WHERE target = ? AND action = ? AND outcome = ?",
            (directory_id, action, outcome),
        ).fetchone()
        return None if row[0] is None else str(row[0])

    def anchor(self) -> Anchor | None:
        """The anchor as stored now (None if there is none); `AnchorError` if unusable."""
        return None if self.anchor_path is None else read_anchor(self.anchor_path)

    def export(self, since: datetime | None = None) -> Iterator[dict[str, object]]:
        """Every record (at or after `since`), in seq order, with prev_hash and hash; streamed."""
        sql = f"SELECT {', '.join(EXPORT_FIELDS)} FROM audit_log"
        params: tuple[str, ...] = ()
        if since is not None:
            sql += " WHERE at >= ?"
            params = (iso(since),)
        for values in self._conn.execute(sql + " ORDER BY seq", params):
            yield dict(zip(EXPORT_FIELDS, values, strict=True))

    def verify(self) -> tuple[int, str | None]:
        """Walk the chain and check it against the anchor.

        Return (records checked, first problem or None). The anchor is read before
        the table, so records appended meanwhile cannot look like a truncation.
        """
        anchor: Anchor | None = None
        unreadable = ""
        if self.anchor_path is not None:
            try:
                anchor = read_anchor(self.anchor_path)
            except AnchorError as exc:
                unreadable = (
                    f"the anchor {self.anchor_path} is unreadable ({exc}): a cut-off of the"
                    " newest records cannot be ruled out"
                )
        checked, problem, head = self._walk(anchor)
        if problem:
            return checked, problem
        if unreadable:
            return checked, unreadable
        if self.anchor_path is not None and anchor is None and head.seq > 0:
            return checked, (
                f"the anchor {self.anchor_path} is missing but the table has {head.seq}"
                " records: a cut-off of the newest records cannot be ruled out (for a store"
                " from before anchors, with no other problem: `helpdesk audit anchor`)"
            )
        return checked, None

    def reanchor(self) -> tuple[Anchor | None, Anchor]:
        """Verify the chain, then write the anchor at its head: (previous anchor, new one).

        For a store without an anchor (from before anchors, or the file was lost) or
        with an unreadable one. Raises `AuditProblem` if the chain is broken or the
        anchor contradicts the table (a truncation is never papered over).
        """
        path = self.anchor_path
        if path is None:
            raise AuditProblem("an in-memory store has no anchor")
        try:
            before = read_anchor(path)
        except AnchorError:
            before = None
        _, problem, head = self._walk(before)
        if problem:
            raise AuditProblem(problem)
        with transaction(self._conn) as conn:
            conn.lock(CHAIN_LOCK)
            # Appends may have moved the anchor since the walk: never move it back.
            try:
                now = read_anchor(path)
            except AnchorError:
                now = None
            if now is not None and now.seq >= head.seq and now != before:
                return before, now
            write_anchor(path, head)
        return before, head

    def _walk(self, anchor: Anchor | None) -> tuple[int, str | None, Anchor]:
        """(records checked, first problem or None, head of the good chain)."""
        prev = GENESIS
        expected_seq = 1
        checked = 0
        at_anchor: str | None = None
        cursor = self._conn.execute(
            f"SELECT {', '.join(EXPORT_FIELDS)} FROM audit_log ORDER BY seq"
        )
        for values in cursor:
            row = dict(zip(EXPORT_FIELDS, values, strict=True))
            seq = row["seq"]
            if seq != expected_seq:
                return (
                    checked,
                    f"record {expected_seq} is missing (next is {seq})",
                    Anchor(checked, prev),
                )
            if row["prev_hash"] != prev:
                return (
                    checked,
                    f"record {seq} does not follow record {seq - 1}",
                    Anchor(checked, prev),
                )
            if record_hash(prev, row) != row["hash"]:
                return checked, f"record {seq} was altered", Anchor(checked, prev)
            prev = str(row["hash"])
            if anchor is not None and seq == anchor.seq:
                at_anchor = prev
            expected_seq += 1
            checked += 1
        head = Anchor(checked, prev)
        if anchor is not None and anchor.seq > head.seq:
            first = head.seq + 1
            missing = (
                f"record {first} is"
                if first == anchor.seq
                else f"records {first}..{anchor.seq} are"
            )
            return (
                checked,
                (
                    f"truncated: {missing} missing (the anchor says the chain reached record"
                    f" {anchor.seq}; the table ends at {head.seq})"
                ),
                head,
            )
        if anchor is not None and anchor.seq > 0 and at_anchor != anchor.hash:
            return (
                checked,
                (
                    f"record {anchor.seq} does not match the anchor (stored hash"
                    f" {(at_anchor or '')[:12]}…, anchor {anchor.hash[:12]}…): the chain was"
                    f" rewritten from record {anchor.seq} or earlier"
                ),
                head,
            )
        return checked, None, head
