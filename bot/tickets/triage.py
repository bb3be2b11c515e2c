"""The triage view: one message per ticket in the triage channel, updated in place.

Engineers read it densely: ids, states, times, SLA due times. Its buttons carry
`@command:<action>:<number>` values, so a click goes to the engineer commands
whatever else is going on.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import parse_iso
from bot.i18n import Translator
from bot.messages import Choice, Reply
from bot.tickets.model import OPEN, Ticket, TicketEvent

ACTION = "@command:"


def _when(text: str | None) -> str:
    return parse_iso(text).strftime("%Y-%m-%d %H:%MZ") if text else "—"


def engineer_state(t: Translator, state: str) -> str:
    """A state as engineers read it: `waiting_on_user` is "waiting on the requester" (the
    requester's own word for it, "waiting for you", would speak to the wrong person)."""
    return t(f"triage.state.{state}")


def triage_view(
    ticket: Ticket, t: Translator, events: Sequence[TicketEvent] = (), *, history: int = 0
) -> Reply:
    """The ticket for engineers; `history` > 0 adds its last events (internal ones too)."""
    flags = []
    if ticket.sla_flags & 2 or ticket.sla_flags & 8:
        flags.append(t("triage.breached"))
    elif ticket.sla_flags & 1 or ticket.sla_flags & 4:
        flags.append(t("triage.at_risk"))
    head = f"{ticket.ref} · {ticket.priority} · {engineer_state(t, ticket.state)}"
    if flags:
        head += " · " + " ".join(flags)
    lines = [head, ticket.summary]
    for event in list(events)[-history:] if history else []:
        body = f": {event.body}" if event.body else ""
        visibility = "" if event.public else " (internal)"
        lines.append(f"  {_when(event.at)} {event.kind}{visibility} · {event.actor}{body}")
    fields = (
        (t("triage.requester"), ticket.requester_email),
        (t("ticket.field.category"), ticket.category),
        (t("triage.team"), ticket.team),
        (t("ticket.field.assignee"), ticket.assignee or "—"),
        (t("triage.opened"), _when(ticket.created_at)),
        (t("triage.response_due"), _when(ticket.response_due_at)),
        (t("triage.resolution_due"), _when(ticket.resolution_due_at)),
    )
    choices: tuple[Choice, ...] = ()
    if ticket.state in OPEN:
        n = ticket.number
        choices = (
            Choice(t("triage.claim"), f"{ACTION}claim:{n}", "primary"),
            Choice(t("triage.assign"), f"{ACTION}assign:{n}"),
            Choice(t("triage.escalate"), f"{ACTION}escalate:{n}"),
            Choice(t("triage.resolve"), f"{ACTION}resolve:{n}"),
        )
    return Reply("\n".join(lines), fields=fields, choices=choices)
