"""Tickets for requesters: ask for a human (open a ticket) and follow your tickets."""

from __future__ import annotations

import re
from typing import ClassVar

from bot.clock import parse_iso
from bot.handlers.base import Turn, human_choice, menu
from bot.messages import Choice, Reply
from bot.store.conversations import PendingFlow
from bot.store.tickets import Ticket, parse_ticket_ref

_OPEN = "ticket:open"
_EDIT = "ticket:edit"
_CANCEL = "ticket:cancel"
_SUMMARY_CHARS = 120
_TICKET_REF = re.compile(r"(?i)\b(?:hd)[-_ ]?(\d{1,9})\b|#(\d{3,9})\b")


def _summary(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SUMMARY_CHARS else line[: _SUMMARY_CHARS - 1] + "…"


def _confirm(turn: Turn, summary: str) -> Reply:
    t = turn.t
    return Reply(
        t("ticket.confirm", summary=summary),
        choices=(
            Choice(t("ticket.open"), _OPEN, "primary"),
            Choice(t("ticket.edit"), _EDIT),
            Choice(t("ticket.cancel"), _CANCEL),
        ),
    )


def propose_ticket(turn: Turn, *, summary: str, description: str, category: str) -> list[Reply]:
    """Show the ticket the bot would open and wait for the user to confirm, edit or cancel."""
    turn.expect(
        "human.confirm",
        {"summary": _summary(summary), "description": description, "category": category},
    )
    return [_confirm(turn, _summary(summary))]


class Human:
    """Talk to a person: I open a ticket for the service desk: `talk to a human`, `開單`."""

    intent: ClassVar[str] = "human"

    async def handle(self, turn: Turn) -> list[Reply]:
        turn.expect("human.describe")
        return [Reply(turn.t("ticket.describe", phone=turn.services.settings.bot.support_phone))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t, msg = turn.t, turn.msg
        if pending.flow == "human.describe":
            if not msg.text:
                return None
            return propose_ticket(turn, summary=msg.text, description=msg.text, category="other")
        state = pending.state
        choices = (
            Choice(t("ticket.open"), _OPEN),
            Choice(t("ticket.edit"), _EDIT),
            Choice(t("ticket.cancel"), _CANCEL),
        )
        picked = turn.picked(choices)
        if picked is None:
            answer = turn.yes_no()
            picked = None if answer is None else (_OPEN if answer else _CANCEL)
        if picked is None:
            return None
        if picked == _CANCEL:
            turn.done()
            return [Reply(t("ticket.cancelled"), choices=menu(t))]
        if picked == _EDIT:
            turn.expect("human.describe")
            return [Reply(t("ticket.describe_again"))]
        turn.done()
        email = msg.actor.email or ""
        ticket, _ = turn.services.tickets.open(
            requester_email=email,
            requester_platform=msg.platform,
            requester_user_id=msg.actor.user_id,
            summary=str(state["summary"]),
            description=str(state["description"]),
            category=str(state.get("category", "other")),
            idempotency_key=f"{msg.platform}:{msg.event_id}" if msg.event_id else None,
        )
        return [Reply(t("ticket.opened", ref=ticket.ref, summary=ticket.summary))]


def _line(turn: Turn, ticket: Ticket) -> str:
    opened = turn.local_time(parse_iso(ticket.created_at))
    state = turn.t(f"ticket.state.{ticket.state}")
    return turn.t("ticket.line", ref=ticket.ref, state=state, summary=ticket.summary, opened=opened)


class TicketStatus:
    """See your tickets and where they stand: `my tickets`, `HD-1042`."""

    intent: ClassVar[str] = "ticket_status"

    async def handle(self, turn: Turn) -> list[Reply]:
        t, msg = turn.t, turn.msg
        email = msg.actor.email or ""
        match = _TICKET_REF.search(msg.text)
        if match:
            number = parse_ticket_ref(match.group(1) or match.group(2))
            ticket = turn.services.tickets.get(number) if number else None
            # Requesters see only their own tickets; someone else's looks the same as none.
            if ticket is None or ticket.requester_email != email:
                return [Reply(t("ticket.not_yours", ref=match.group(0).upper()))]
            return [Reply(_line(turn, ticket))]
        tickets = turn.services.tickets.for_requester(email)
        if not tickets:
            return [Reply(t("ticket.none"), choices=(human_choice(t),))]
        lines = "\n".join(_line(turn, ticket) for ticket in tickets)
        return [Reply(f"{t('ticket.yours', count=len(tickets))}\n{lines}")]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
