"""The ticket service: every change to a ticket, in one transaction with its event
and its notifications.

Each public method is one action by one actor. It checks that the action is
allowed from the ticket's state (`model.ALLOWED`), updates the row, appends one
event to the ticket's log, recomputes the SLA clocks, and queues in the outbox —
inside the same SQLite transaction — what must be said about it: the triage view
update, a notice to the requester for public changes, a thread post for comments
and internal notes, a page for a P1. A crash after the commit therefore loses no
notification, and a crash before it leaves no trace (see `bot.outbox.worker`).

Who may call what is decided by the callers (the requester handlers check
ownership, the engineer commands check the directory role); the service records
the actor it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.clock import Clock, iso, parse_iso, utcnow
from bot.config import Settings
from bot.i18n import Translator
from bot.incidents.grouping import group_report
from bot.messages import Recipient
from bot.redact import MASK, redact
from bot.store.connection import Connection
from bot.store.database import Database, transaction
from bot.store.message_links import MessageLinks
from bot.store.outbox import Outbox
from bot.store.request_scope import current_request
from bot.tickets import model
from bot.tickets.model import (
    ALLOWED,
    CLOSED,
    COLUMNS,
    ESCALATED,
    FIRST_TICKET_NUMBER,
    IN_PROGRESS,
    NEW,
    OPEN,
    RESOLUTION_AT_RISK,
    RESOLUTION_BREACHED,
    RESOLVED,
    RESPONSE_AT_RISK,
    RESPONSE_BREACHED,
    TRIAGED,
    WAITING,
    Ticket,
    TicketError,
    TicketEvent,
    csat_choice,
)
from bot.tickets.proposal import priority_of
from bot.tickets.sla import Calendar, Clocks, Pause, Target, clocks, hours_calendar, parse_duration

MAX_TEXT_CHARS = 100_000
"""Longer descriptions and comments are cut here (with a marker); 50 kB fits whole."""

_RESPONSE_ACTIONS = frozenset({"claim", "reply", "contact", "wait", "resolve"})
_PAUSED_STATES = frozenset({WAITING, RESOLVED})


@dataclass(frozen=True)
class Requester:
    email: str
    platform: str
    user_id: str
    conversation: str = ""
    lang: str = "en"


def _stored(text: str) -> str:
    """Text as a ticket keeps it: secrets masked (the engine masked chat text already; this
    covers every other caller, rule 8) and cut at `MAX_TEXT_CHARS`."""
    text = redact(text).text
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n[… cut: {len(text) - MAX_TEXT_CHARS:,} more characters]"


def build_calendar(settings: Settings) -> Calendar:
    """The calendar the SLA clocks run on, from `sla.calendar` and `[calendars.NAME]`."""
    name = settings.sla.calendar
    if name == "24x7":
        return Calendar()
    cal = settings.calendars[name]
    return hours_calendar(name, cal.timezone, cal)


def build_targets(settings: Settings) -> dict[str, Target]:
    sla = settings.sla
    return {
        p: Target(
            parse_duration(getattr(sla, f"{p.lower()}_response")),
            parse_duration(getattr(sla, f"{p.lower()}_resolution")),
        )
        for p in model.PRIORITIES
    }


class TicketService:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utcnow):
        self._conn = db.conn
        self._clock = clock
        self._settings = settings
        self._outbox = Outbox(db, clock)
        self._links = MessageLinks(db.conn)
        self.calendar = build_calendar(settings)
        self.targets = build_targets(settings)
        self.categories = settings.tickets.categories
        self.teams = settings.tickets.teams

    # -- reads -----------------------------------------------------------------------------

    def get(self, number: int) -> Ticket | None:
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM tickets WHERE id = ?", (number,)
        ).fetchone()
        return None if row is None else Ticket(*row)

    def require(self, number: int) -> Ticket:
        ticket = self.get(number)
        if ticket is None:
            raise TicketError("ticket.unknown", ref=model.ref(number))
        return ticket

    def for_requester(self, email: str, limit: int = 10) -> list[Ticket]:
        rows = self._conn.execute(
            f"SELECT {COLUMNS} FROM tickets WHERE requester_email = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (email, limit),
        ).fetchall()
        return [Ticket(*row) for row in rows]

    def _queue_filter(self, view: str, engineer: str, team: str) -> tuple[str, list[str]]:
        """The WHERE clause and its parameters of one queue view."""
        open_states = tuple(sorted(OPEN))
        marks = ", ".join("?" * len(open_states))
        where, params = f"state IN ({marks})", list(open_states)
        if view == "mine":
            where, params = f"assignee = ? AND state IN ({marks})", [engineer, *open_states]
        elif view == "unassigned":
            where += " AND assignee IS NULL"
        elif view == "team":
            where, params = f"team = ? AND state IN ({marks})", [team, *open_states]
        elif view == "breaching":
            soon = iso(self._clock() + timedelta(hours=2))
            where = (
                f"state IN ({marks}) AND"
                f" ((sla_flags & {RESPONSE_BREACHED | RESOLUTION_BREACHED}) != 0"
                " OR sla_next_at <= ?)"
            )
            params = [*open_states, soon]
        return where, params

    def queue(
        self, view: str = "open", *, engineer: str = "", team: str = "", limit: int = 20
    ) -> list[Ticket]:
        """Open tickets, most urgent first. `view`: open, mine, unassigned, team, breaching."""
        where, params = self._queue_filter(view, engineer, team)
        rows = self._conn.execute(
            f"SELECT {COLUMNS} FROM tickets WHERE {where} ORDER BY priority, created_at LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [Ticket(*row) for row in rows]

    def queue_size(self, view: str = "open", *, engineer: str = "", team: str = "") -> int:
        """How many tickets a queue view holds (the same filter as `queue`)."""
        where, params = self._queue_filter(view, engineer, team)
        return int(
            self._conn.execute(f"SELECT count(*) FROM tickets WHERE {where}", params).fetchone()[0]
        )

    def for_thread(self, message_ref: str) -> int | None:
        """The ticket whose triage post is `message_ref` (a reply in its thread is about it)."""
        return self._links.ticket_of_triage_thread(message_ref)

    def for_requester_thread(self, message_ref: str) -> int | None:
        """The ticket whose notice to the requester is `message_ref` (a reply there comments)."""
        return self._links.ticket_of_notice_thread(message_ref)

    def for_request(self, request: str) -> int | None:
        """The ticket a request (a platform event id) opened or changed first, if any."""
        row = self._conn.execute(
            "SELECT ticket_id FROM ticket_events WHERE request_id = ? ORDER BY id LIMIT 1",
            (request,),
        ).fetchone()
        return None if row is None else int(row[0])

    def watchers(self, number: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT watcher FROM ticket_watchers WHERE ticket_id = ? ORDER BY watcher", (number,)
        ).fetchall()
        return [r[0] for r in rows]

    def watch(self, number: int, engineer: str, who: str) -> Ticket:
        """Add a watcher: they get a copy of every notice the requester gets."""
        with transaction(self._conn) as conn:
            ticket = self._load(conn, number)
            conn.execute(
                "INSERT INTO ticket_watchers (ticket_id, watcher) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (number, who),
            )
            self._event(conn, number, "assignment", engineer, "", data={"watcher": who})
        return ticket

    def events(self, number: int, *, public_only: bool = False) -> list[TicketEvent]:
        rows = self._conn.execute(
            "SELECT ticket_id, at, kind, actor, body, public, data_json FROM ticket_events"
            " WHERE ticket_id = ?" + (" AND public = 1" if public_only else "") + " ORDER BY id",
            (number,),
        ).fetchall()
        return [
            TicketEvent(r[0], r[1], r[2], r[3], r[4], bool(r[5]), json.loads(r[6])) for r in rows
        ]

    def search(
        self,
        *,
        state: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        team: str | None = None,
        requester: str | None = None,
        category: str | None = None,
        since: str | None = None,
        limit: int | None = 50,
    ) -> Iterator[Ticket]:
        """Tickets matching every filter given, newest first (for the CLI and exports)."""
        clauses, params = [], []
        for column, value in (
            ("state", state),
            ("priority", priority),
            ("assignee", assignee),
            ("team", team),
            ("requester_email", requester),
            ("category", category),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        tail = " LIMIT ?" if limit is not None else ""
        if limit is not None:
            params.append(str(limit))
        cursor = self._conn.execute(
            f"SELECT {COLUMNS} FROM tickets{where} ORDER BY created_at DESC, id DESC{tail}",
            params,
        )
        for row in cursor:
            yield Ticket(*row)

    # -- the requester's side ----------------------------------------------------------------

    def open(
        self,
        *,
        requester_email: str,
        requester_platform: str,
        requester_user_id: str,
        summary: str,
        description: str,
        category: str = "other",
        priority: str | None = None,
        impact: str = "single",
        urgency: str = "medium",
        conversation: str = "",
        lang: str = "en",
        transcript: Sequence[tuple[str, str]] = (),
        idempotency_key: str | None = None,
        requester_directory_id: str | None = None,
        fault: bool = True,
    ) -> tuple[Ticket, bool]:
        """Open a ticket; return it and whether it is new (False: the key was seen before).

        A `fault` (not a request) is a report that may belong to a major incident: it is
        grouped in this transaction (`bot.incidents.grouping`).

        `requester_directory_id` is the requester's immutable directory id when known.

        Safe to call concurrently with the same key: the key is UNIQUE and the check
        and insert share one write transaction, so exactly one ticket results.
        """
        now = self._clock()
        category = category if category in self.categories else self.categories[-1]
        priority = priority or priority_of(impact, urgency)
        lines = [(who, _stored(text)) for who, text in transcript]
        with transaction(self._conn) as conn:
            if idempotency_key is not None:
                # Replicas opening the same key wait for each other: one ticket results.
                conn.lock(f"ticket-key:{idempotency_key}")
                row = conn.execute(
                    f"SELECT {COLUMNS} FROM tickets WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    return Ticket(*row), False
            number = next_ticket_number(conn)
            conn.execute(
                "INSERT INTO tickets (id, idempotency_key, requester_email, requester_platform,"
                " requester_user_id, requester_conversation, requester_lang, summary,"
                " description, category, priority, impact, urgency, state, team, created_at,"
                " updated_at, requester_directory_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?)",
                (
                    number,
                    idempotency_key,
                    requester_email,
                    requester_platform,
                    requester_user_id,
                    conversation,
                    lang,
                    _stored(summary),
                    _stored(description),
                    category,
                    priority,
                    impact,
                    urgency,
                    self.teams[0],
                    iso(now),
                    iso(now),
                    requester_directory_id,
                ),
            )
            self._event(
                conn,
                number,
                "created",
                requester_email,
                "",
                public=True,
                request=current_request.get(),
            )
            if lines:
                self._event(conn, number, "transcript", requester_email, "", data={"lines": lines})
            self._set_clocks(conn, number)
            ticket = self._load(conn, number)
            self._queue_triage(ticket)
            if priority == "P1":
                self._page(ticket, "P1")
            if fault:
                group_report(conn, self._settings, self._outbox, ticket, now)
        metrics.TICKETS_OPENED.inc(priority)
        return ticket, True

    def comment(
        self, number: int, requester: str, text: str, *, attachment: bool = False
    ) -> Ticket:
        """A public comment (or a note about an attachment) from the requester.

        A comment on a ticket waiting on the user starts its clock again.
        """
        kind = "attachment" if attachment else "comment"

        def change(conn: Connection, ticket: Ticket) -> dict[str, Any]:
            return (
                {"state": IN_PROGRESS if ticket.assignee else TRIAGED}
                if ticket.state == WAITING
                else {}
            )

        return self._act(
            number,
            "comment",
            requester,
            kind,
            _stored(text),
            public=True,
            change=change,
            thread=True,
        )

    def cancel(self, number: int, requester: str, reason: str = "") -> Ticket:
        return self._act(
            number,
            "cancel",
            requester,
            "state",
            _stored(reason),
            public=True,
            change=lambda c, t: {"state": model.CANCELLED},
            notice=None,
        )

    def csat(self, number: int, requester: str, score: int, comment: str = "") -> bool:
        """Record the requester's rating once; False if the ticket was already rated."""
        if not 1 <= score <= 5:
            raise TicketError("ticket.csat_range")
        with transaction(self._conn) as conn:
            ticket = self._load(conn, number)
            if ticket.state not in ALLOWED["csat"]:
                raise TicketError("ticket.not_allowed", ref=ticket.ref, state=ticket.state)
            if ticket.csat_score is not None:
                return False
            conn.execute("UPDATE tickets SET csat_score = ? WHERE id = ?", (score, number))
            self._event(conn, number, "csat", requester, _stored(comment), data={"score": score})
        return True

    def csat_comment(self, number: int, requester: str, comment: str) -> None:
        with transaction(self._conn) as conn:
            self._event(conn, number, "csat", requester, _stored(comment), data={"comment": True})

    def reopen(self, number: int, actor: str, reason: str = "", *, requester: bool) -> Ticket:
        """Reopen a resolved ticket. Requesters may do so within `tickets.reopen_days` of
        the resolution and never once it is closed; engineers may reopen closed ones too."""
        ticket = self.require(number)
        if requester:
            window = timedelta(days=self._settings.tickets.reopen_days)
            resolved = parse_iso(ticket.resolved_at) if ticket.resolved_at else None
            if ticket.state != RESOLVED or resolved is None or self._clock() - resolved > window:
                raise TicketError(
                    "ticket.reopen_too_late",
                    ref=ticket.ref,
                    days=self._settings.tickets.reopen_days,
                )
        return self._act(
            number,
            "reopen",
            actor,
            "state",
            _stored(reason),
            public=True,
            change=lambda c, t: {
                "state": IN_PROGRESS if t.assignee else TRIAGED,
                "resolved_at": None,
                "closed_at": None,
                "reopen_count": t.reopen_count + 1,
            },
            notice=None if requester else "ticket.notice.reopened",
        )

    # -- the engineers' side ------------------------------------------------------------------

    def claim(self, number: int, engineer: str, *, shown_as: str = "") -> Ticket:
        """`shown_as`: how the requester's notice names the engineer (their directory
        display name; the caller looks it up), never their email."""
        return self._act(
            number,
            "claim",
            engineer,
            "assignment",
            "",
            public=True,
            change=lambda c, t: {"assignee": engineer, "state": IN_PROGRESS},
            data={"user": engineer},
            notice="ticket.notice.claimed",
            params={"engineer": shown_as or engineer.split("@", 1)[0]},
        )

    def assign(
        self, number: int, actor: str, *, user: str | None = None, team: str | None = None
    ) -> Ticket:
        if team is not None and team not in self.teams:
            raise TicketError("ticket.unknown_team", team=team, teams=", ".join(self.teams))

        def change(conn: Connection, t: Ticket) -> dict[str, Any]:
            out: dict[str, Any] = {"state": TRIAGED if t.state == NEW else t.state}
            if user is not None:
                out["assignee"] = user
            if team is not None:
                out["team"] = team
                out["assignee"] = user
            return out

        return self._act(
            number,
            "assign",
            actor,
            "assignment",
            "",
            change=change,
            data={"user": user, "team": team},
        )

    def approval(self, number: int, approver: str, text: str) -> Ticket:
        """Where a request's approval stands (asked, approved, declined), shown to the
        requester in the ticket's history; the requester is told separately."""
        return self._act(
            number, "approval", approver, "approval", _stored(text), public=True, notice=None
        )

    def note(self, number: int, engineer: str, text: str) -> Ticket:
        return self._act(number, "note", engineer, "note", _stored(text), thread=True)

    def reply(self, number: int, engineer: str, text: str) -> Ticket:
        text = _stored(text)
        return self._act(
            number,
            "reply",
            engineer,
            "comment",
            text,
            public=True,
            notice="ticket.notice.reply",
            params={"engineer": engineer, "text": text},
        )

    def chase(self, number: int, requester: str, text: str, tell: str) -> Ticket:
        """The requester chases (`bot.handlers.chase`): a contact note that stops no clock;
        `tell` goes by DM to the assignee, or the note to the triage thread when unassigned."""

        def tell_someone(ticket: Ticket, event_id: int, body: str) -> None:
            if ticket.assignee is None:
                self._thread(ticket, event_id, requester, body, "contact")
                return
            self._outbox.put(
                f"chase:{number}:{event_id}",
                "notice",
                Recipient.by_email(ticket.assignee),
                {"ticket": number, "text": tell, "choices": []},
            )

        body = _stored(text)
        data = {"channel": "chat", "chase": True}
        return self._act(number, "chase", requester, "contact", body, data=data, also=tell_someone)

    def contact(self, number: int, engineer: str, channel: str, text: str) -> Ticket:
        return self._act(
            number, "contact", engineer, "contact", _stored(text), data={"channel": channel}
        )

    def set_priority(self, number: int, engineer: str, priority: str) -> Ticket:
        if priority not in model.PRIORITIES:
            raise TicketError("ticket.bad_priority", priority=priority)
        return self._act(
            number,
            "priority",
            engineer,
            "priority",
            "",
            change=lambda c, t: {"priority": priority},
            data={"to": priority},
        )

    def escalate(self, number: int, engineer: str, team: str, reason: str) -> Ticket:
        if team not in self.teams:
            raise TicketError("ticket.unknown_team", team=team, teams=", ".join(self.teams))
        # The reason is for the resolver team: an internal event. The requester is told
        # only that the ticket moved to the team (`tell`), not why.
        return self._act(
            number,
            "escalate",
            engineer,
            "escalation",
            _stored(reason),
            change=lambda c, t: {"state": ESCALATED, "team": team, "assignee": None},
            data={"team": team},
            notice="ticket.notice.escalated",
            params={"team": team},
            tell=True,
        )

    def wait(self, number: int, engineer: str, reason: str) -> Ticket:
        reason = _stored(reason)
        return self._act(
            number,
            "wait",
            engineer,
            "state",
            reason,
            public=True,
            change=lambda c, t: {"state": WAITING},
            notice="ticket.notice.waiting",
            params={"reason": reason},
        )

    def resolve(self, number: int, engineer: str, resolution: str, *, tell: bool = True) -> Ticket:
        """`tell=False`: the requester is told otherwise (an incident's resolution tells each
        person once, `bot.incidents.notices`), so no notice and no rating ask from here."""
        now = iso(self._clock())
        resolution = _stored(resolution)
        return self._act(
            number,
            "resolve",
            engineer,
            "state",
            resolution,
            public=True,
            change=lambda c, t: {"state": RESOLVED, "resolved_at": now},
            notice="ticket.notice.resolved",
            params={"resolution": resolution},
            csat=True,
            tell=None if tell else False,
        )

    # -- time ---------------------------------------------------------------------------------

    def scan(self, limit: int = 500) -> dict[str, int]:
        """Raise SLA at-risk and breach alerts that are due, and close resolved tickets whose
        reopen window has passed. Idempotent: each alert goes out once per ticket."""
        now = self._clock()
        counts = {"at_risk": 0, "breached": 0, "closed": 0}
        due = self._conn.execute(
            "SELECT id FROM tickets WHERE sla_next_at IS NOT NULL AND sla_next_at <= ?"
            " ORDER BY sla_next_at LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        # One transaction for the batch: one commit (one fsync) instead of one per ticket.
        fired: list[tuple[str, str]] = []
        with transaction(self._conn) as conn:
            for (number,) in due:
                for kind, clock in self._sla_alerts(conn, number, now):
                    counts[kind] += 1
                    fired.append((kind, clock))
        for kind, clock in fired:  # counted once committed
            metrics.SLA_ALERTS.inc(kind, clock)
        cutoff = iso(now - timedelta(days=self._settings.tickets.reopen_days))
        stale = self._conn.execute(
            "SELECT id FROM tickets WHERE state = ? AND resolved_at <= ? LIMIT ?",
            (RESOLVED, cutoff, limit),
        ).fetchall()
        for (number,) in stale:
            self._act(
                number,
                "close",
                "helpdesk",
                "state",
                "",
                change=lambda c, t: {"state": CLOSED, "closed_at": iso(now)},
            )
            counts["closed"] += 1
        return counts

    def _sla_alerts(self, conn: Connection, number: int, now: datetime) -> list[tuple[str, str]]:
        """The alerts due on this ticket, raised: (kind, clock) each."""
        ticket = self._load(conn, number)
        if ticket.state not in OPEN or ticket.state == WAITING:
            conn.execute("UPDATE tickets SET sla_next_at = NULL WHERE id = ?", (number,))
            return []
        c = self._clocks(conn, ticket)
        flags, fired = ticket.sla_flags, []
        checks = (  # (when it fires, the due time the alert names, ...)
            (c.response_risk, c.response_due, RESPONSE_AT_RISK, "at_risk", "response"),
            (c.response_due, c.response_due, RESPONSE_BREACHED, "breached", "response"),
            (c.resolution_risk, c.resolution_due, RESOLUTION_AT_RISK, "at_risk", "resolution"),
            (c.resolution_due, c.resolution_due, RESOLUTION_BREACHED, "breached", "resolution"),
        )
        for moment, due, bit, kind, clock in checks:
            if moment is None or moment > now or flags & bit:
                continue
            flags |= bit
            fired.append((kind, clock))
            event_kind = "sla_at_risk" if kind == "at_risk" else "sla_breach"
            self._event(conn, number, event_kind, "helpdesk", "", data={"clock": clock})
            self._outbox.put(
                f"sla:{number}:{bit}:{ticket.reopen_count}",
                "sla",
                Recipient.channel(self._settings.tickets.triage_channel),
                {"ticket": number, "kind": kind, "clock": clock, "due": iso(due or moment)},
            )
        conn.execute("UPDATE tickets SET sla_flags = ? WHERE id = ?", (flags, number))
        self._set_clocks(conn, number)
        return fired

    # -- machinery ------------------------------------------------------------------------------

    def _load(self, conn: Connection, number: int) -> Ticket:
        row = conn.execute(f"SELECT {COLUMNS} FROM tickets WHERE id = ?", (number,)).fetchone()
        if row is None:
            raise TicketError("ticket.unknown", ref=model.ref(number))
        return Ticket(*row)

    def _event(
        self,
        conn: Connection,
        number: int,
        kind: str,
        actor: str,
        body: str,
        *,
        public: bool = False,
        data: dict[str, Any] | None = None,
        request: str | None = None,
    ) -> int:
        cursor = conn.execute(
            "INSERT INTO ticket_events (ticket_id, at, kind, actor, body, public, data_json,"
            " request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                number,
                iso(self._clock()),
                kind,
                actor,
                body,
                int(public),
                json.dumps(data or {}, ensure_ascii=False),
                request,
            ),
        )
        return int(cursor.fetchone()[0])

    def _act(
        self,
        number: int,
        action: str,
        actor: str,
        kind: str,
        body: str,
        *,
        public: bool = False,
        change: Any = None,
        data: dict[str, Any] | None = None,
        notice: str | None = "ticket.notice.state",
        params: dict[str, object] | None = None,
        csat: bool = False,
        thread: bool = False,
        also: Callable[[Ticket, int, str], None] | None = None,
        tell: bool | None = None,
    ) -> Ticket:
        """Apply one action: check, update, log, re-clock and queue its notifications, all
        in one transaction. `thread` mirrors the event's text into the triage thread; `also`
        (ticket after, event id, text) queues what else the action must say, in it too.
        `tell` (default: `public`) sends the requester `notice`; an internal event may still
        tell them something (an escalation: the team, never the reason). The notice's
        words come only from `notice` and `params`, never from an internal event's body.

        A request that already made this kind of change to this ticket (a message the
        inbox runs again after a crash, `bot.store.request_scope`) changes nothing more."""
        now = iso(self._clock())
        request = current_request.get()
        with transaction(self._conn) as conn:
            before = self._load(conn, number)
            if (
                request is not None
                and conn.execute(
                    "SELECT 1 FROM ticket_events"
                    " WHERE ticket_id = ? AND kind = ? AND request_id = ?",
                    (number, kind, request),
                ).fetchone()
            ):
                return before
            if before.state not in ALLOWED[action]:
                raise TicketError(
                    "ticket.not_allowed",
                    ref=before.ref,
                    action=action,
                    state=before.state,
                )
            updates: dict[str, Any] = dict(change(conn, before)) if change else {}
            if action in _RESPONSE_ACTIONS and before.first_response_at is None:
                updates["first_response_at"] = now
            new_state = updates.get("state", before.state)
            if new_state == WAITING and before.state != WAITING:
                updates["waiting_since"] = now
            elif new_state != WAITING and before.state == WAITING:
                updates["waiting_since"] = None
            updates["version"] = before.version + 1
            updates["updated_at"] = now
            sets = ", ".join(f"{column} = ?" for column in updates)
            conn.execute(f"UPDATE tickets SET {sets} WHERE id = ?", (*updates.values(), number))
            event_data = dict(data or {})
            if new_state != before.state:
                moved = {"from": before.state, "to": new_state}
                if kind == "state":
                    event_data.update(moved)
                else:  # its own state event: an assignment is logged as an assignment
                    self._event(conn, number, "state", actor, "", public=True, data=moved)
            event_id = self._event(
                conn, number, kind, actor, body, public=public, data=event_data, request=request
            )
            self._set_clocks(conn, number)
            after = self._load(conn, number)
            self._queue_triage(after)
            if thread:
                self._thread(after, event_id, actor, body, kind)
            if also is not None:
                also(after, event_id, body)
            if after.priority == "P1" and before.priority != "P1":
                self._page(after, "P1")
            told = public if tell is None else tell
            if told and notice is not None and actor != after.requester_email:
                self._notify_requester(after, event_id, notice, params or {}, csat=csat)
        return after

    def _pauses(self, conn: Connection, number: int) -> list[Pause]:
        """Intervals the clock was stopped: waiting on the user, or resolved until reopened."""
        rows = conn.execute(
            "SELECT at, data_json FROM ticket_events WHERE ticket_id = ? AND kind = 'state'"
            " ORDER BY id",
            (number,),
        ).fetchall()
        pauses: list[Pause] = []
        started: datetime | None = None
        for at, data_json in rows:
            data = json.loads(data_json)
            moment = parse_iso(at)
            if data.get("to") in _PAUSED_STATES and started is None:
                started = moment
            elif data.get("to") not in _PAUSED_STATES and started is not None:
                pauses.append((started, moment))
                started = None
        if started is not None:
            pauses.append((started, None))
        return pauses

    def _clocks(self, conn: Connection, ticket: Ticket) -> Clocks:
        return clocks(
            self.calendar,
            self.targets[ticket.priority],
            self._settings.sla.at_risk_fraction,
            created=parse_iso(ticket.created_at),
            responded=parse_iso(ticket.first_response_at) if ticket.first_response_at else None,
            pauses=self._pauses(conn, ticket.number),
        )

    def _set_clocks(self, conn: Connection, number: int) -> None:
        ticket = self._load(conn, number)
        if ticket.state not in OPEN:
            conn.execute(
                "UPDATE tickets SET response_due_at = NULL, resolution_due_at = NULL,"
                " sla_next_at = NULL WHERE id = ?",
                (number,),
            )
            return
        c = self._clocks(conn, ticket)
        flags = ticket.sla_flags
        pending = [
            moment
            for moment, bit in (
                (c.response_risk, RESPONSE_AT_RISK),
                (c.response_due, RESPONSE_BREACHED),
                (c.resolution_risk, RESOLUTION_AT_RISK),
                (c.resolution_due, RESOLUTION_BREACHED),
            )
            if moment is not None and not flags & bit
        ]
        conn.execute(
            "UPDATE tickets SET response_due_at = ?, resolution_due_at = ?, sla_next_at = ?"
            " WHERE id = ?",
            (
                iso(c.response_due) if c.response_due else None,
                iso(c.resolution_due) if c.resolution_due else None,
                iso(min(pending)) if pending else None,
                number,
            ),
        )

    def _queue_triage(self, ticket: Ticket) -> None:
        self._outbox.put(
            f"triage:{ticket.number}:{ticket.version}",
            "triage",
            Recipient.channel(self._settings.tickets.triage_channel),
            {"ticket": ticket.number, "version": ticket.version},
        )

    def _thread(self, ticket: Ticket, event_id: int, actor: str, text: str, kind: str) -> None:
        """Mirror a comment or note into the ticket's triage thread."""
        self._outbox.put(
            f"thread:{ticket.number}:{event_id}",
            "thread",
            Recipient.channel(self._settings.tickets.triage_channel),
            {"ticket": ticket.number, "actor": actor, "kind": kind, "text": text},
        )

    def oncall_recipient(self, team: str | None = None) -> Recipient:
        """Who is paged now: the on-call engineer of the team's current shift (by email),
        else `tickets.oncall_recipient` (a channel)."""
        rotation = self._settings.rotation
        name = team if team in rotation.teams else rotation.teams[0]
        person = rotation.oncall(rotation.shift_at(name, self._clock()))
        if person:
            return Recipient.by_email(person)
        return Recipient.parse(self._settings.tickets.oncall_recipient)

    def _page(self, ticket: Ticket, why: str) -> None:
        self._outbox.put(
            f"page:{ticket.number}:{why}:{ticket.reopen_count}",
            "page",
            self.oncall_recipient(ticket.team),
            {"ticket": ticket.number, "summary": ticket.summary, "priority": ticket.priority},
        )

    def _notify_requester(
        self,
        ticket: Ticket,
        event_id: int,
        key: str,
        params: dict[str, object],
        *,
        csat: bool,
    ) -> None:
        t = Translator("zh-Hant" if ticket.requester_lang == "zh-Hant" else "en")
        state = t(f"ticket.state.{ticket.state}")
        text = t(key, ref=ticket.ref, summary=ticket.summary, state=state, **params)
        choices: list[list[str]] = []
        if csat:
            text += "\n" + t("ticket.csat_ask")
            choices = [[str(score), csat_choice(ticket.number, score)] for score in range(1, 6)]
        self._outbox.put(
            f"notice:{ticket.number}:{event_id}",
            "notice",
            Recipient.person(ticket.requester_platform, ticket.requester_user_id),
            {
                "ticket": ticket.number,
                "conversation": ticket.requester_conversation,
                "text": text,
                "choices": choices,
            },
        )
        for watcher in self.watchers(ticket.number):
            self._outbox.put(
                f"notice:{ticket.number}:{event_id}:{watcher}",
                "notice",
                Recipient.by_email(watcher),
                {"ticket": ticket.number, "text": text, "choices": []},
            )


def next_ticket_number(conn: Connection) -> int:
    """The next ticket's number, inside the caller's write transaction: the one place
    numbers are made (the dialect's `next_ticket_number`). On SQLite the highest number
    plus one: the transaction's `BEGIN IMMEDIATE` holds the write lock from before this
    read until the insert commits, so two processes never draw the same number. On
    PostgreSQL the `ticket_numbers` sequence, safe for replicas opening tickets at once (a
    rolled-back open leaves a gap)."""
    (following,) = conn.execute(conn.dialect.statement("next_ticket_number")).fetchone()
    return max(FIRST_TICKET_NUMBER, int(following))


def transcript_was_redacted(lines: Sequence[tuple[str, str]]) -> bool:
    return any(MASK in text or redact(text).found for _, text in lines)
