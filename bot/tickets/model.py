"""What a ticket is: states, the moves between them, priorities, events.

States: new → triaged → in_progress ⇄ waiting_on_user, escalated; → resolved →
closed (after the reopen window), or cancelled by the requester. `OPEN` states run
SLA clocks (waiting_on_user pauses them). Every change is one `TicketEvent` in an
append-only log; `public` events are what the requester sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.errors import UserFacingError

NEW, TRIAGED, IN_PROGRESS, WAITING = "new", "triaged", "in_progress", "waiting_on_user"
ESCALATED, RESOLVED, CLOSED, CANCELLED = "escalated", "resolved", "closed", "cancelled"
STATES = (NEW, TRIAGED, IN_PROGRESS, WAITING, ESCALATED, RESOLVED, CLOSED, CANCELLED)
OPEN = frozenset({NEW, TRIAGED, IN_PROGRESS, WAITING, ESCALATED})
FINAL = frozenset({CLOSED, CANCELLED})
PRIORITIES = ("P1", "P2", "P3", "P4")
QUEUE_VIEWS = ("open", "mine", "unassigned", "team", "breaching")
"""The views of the engineers' queue (`TicketService.queue`)."""

# Event kinds of the per-ticket log.
EVENT_KINDS = (
    "created",
    "comment",
    "note",
    "contact",
    "assignment",
    "priority",
    "escalation",
    "state",
    "sla_at_risk",
    "sla_breach",
    "csat",
    "transcript",
    "attachment",
)

# Which action may start from which state.
ALLOWED: dict[str, frozenset[str]] = {
    "claim": OPEN,
    "assign": OPEN,
    "note": frozenset(STATES),
    "reply": OPEN | {RESOLVED},
    "contact": OPEN | {RESOLVED},
    "chase": OPEN,
    "priority": OPEN,
    "escalate": OPEN,
    "wait": OPEN - {WAITING},
    "resolve": OPEN,
    "reopen": frozenset({RESOLVED, CLOSED}),
    "cancel": OPEN,
    "comment": OPEN | {RESOLVED},
    "close": frozenset({RESOLVED}),
    "csat": frozenset({RESOLVED, CLOSED}),
    "approval": frozenset(STATES),
}

_REF = re.compile(r"^\s*(?:hd)?[-_ #]?(\d{1,9})\s*$", re.IGNORECASE)
FIRST_TICKET_NUMBER = 1001


def parse_ticket_ref(text: str) -> int | None:
    """`HD-1042`, `hd1042`, `#1042` or `1042` → 1042; anything else → None."""
    match = _REF.match(text)
    return int(match.group(1)) if match else None


def ref(number: int) -> str:
    return f"HD-{number}"


def csat_choice(number: int, score: int) -> str:
    """The value of a rating button: routed by the engine to the ticket handler
    (`@ticket_status:…`) whatever flow is waiting, so it works from a notice too."""
    return f"@ticket_status:csat:{number}:{score}"


@dataclass(frozen=True)
class Ticket:
    number: int
    requester_email: str
    requester_platform: str
    requester_user_id: str
    requester_conversation: str
    requester_lang: str
    summary: str
    description: str
    category: str
    priority: str
    impact: str
    urgency: str
    state: str
    assignee: str | None
    team: str
    version: int
    created_at: str
    updated_at: str
    first_response_at: str | None
    resolved_at: str | None
    closed_at: str | None
    waiting_since: str | None
    response_due_at: str | None
    resolution_due_at: str | None
    sla_flags: int
    csat_score: int | None
    reopen_count: int
    requester_directory_id: str | None
    """The requester's immutable directory id, None when it could not be known."""

    @property
    def ref(self) -> str:
        return ref(self.number)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN


COLUMNS = (
    "id, requester_email, requester_platform, requester_user_id, requester_conversation,"
    " requester_lang, summary, description, category, priority, impact, urgency, state,"
    " assignee, team, version, created_at, updated_at, first_response_at, resolved_at,"
    " closed_at, waiting_since, response_due_at, resolution_due_at, sla_flags, csat_score,"
    " reopen_count, requester_directory_id"
)

# sla_flags bits: an alert already sent for that clock.
RESPONSE_AT_RISK, RESPONSE_BREACHED, RESOLUTION_AT_RISK, RESOLUTION_BREACHED = 1, 2, 4, 8


@dataclass(frozen=True)
class TicketEvent:
    ticket: int
    at: str
    kind: str
    actor: str
    body: str
    public: bool
    data: dict[str, Any]


class TicketError(UserFacingError):
    """A ticket request that cannot be done (unknown id, a move the state forbids)."""
