"""Cancel, reopen or chase a ticket from a message (`cancel HD-1042`, `重開返張單`, `催吓我張單`).

With a ticket ref, or with exactly one ticket the action applies to, the bot acts on it
through the ticket's own buttons (cancel asks to confirm, reopen asks why); a ticket the
action does not apply to is shown with the buttons it has. Otherwise the person's tickets
are listed to pick from. Chasing shows the ticket with its buttons (comment, cancel) until
chasing gets its own action (a contact note that tells the assignee).
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn
from bot.handlers.tickets import TicketStatus, can_reopen, detail, own_ticket
from bot.intents import find_entities
from bot.messages import Reply
from bot.store.conversations import PendingFlow
from bot.tickets.model import OPEN, Ticket


class _TicketAction:
    intent: ClassVar[str]
    action: ClassVar[str]
    """The ticket button run on the ticket: `cancel`, `reopen`, or `show`."""

    def applies(self, turn: Turn, ticket: Ticket) -> bool:
        return can_reopen(turn, ticket) if self.action == "reopen" else ticket.state in OPEN

    async def handle(self, turn: Turn) -> list[Reply]:
        status = TicketStatus()
        refs = find_entities(turn.msg.text).tickets
        if refs:
            ticket = own_ticket(turn, refs[0].number, refs[0].text.upper())
        else:
            mine = turn.services.tickets.for_requester(turn.msg.actor.email or "")
            candidates = [t for t in mine if self.applies(turn, t)]
            if len(candidates) != 1:
                return await status.handle(turn)
            ticket = candidates[0]
        if self.action != "show" and self.applies(turn, ticket):
            return status.act(turn, f"{self.action}:{ticket.number}")
        return [detail(turn, ticket)]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None


class TicketCancel(_TicketAction):
    """Cancel one of your tickets: `cancel HD-1042`, `唔使搞喇，取消張單`."""

    intent: ClassVar[str] = "ticket_cancel"
    action: ClassVar[str] = "cancel"


class TicketReopen(_TicketAction):
    """Reopen a ticket that was resolved but is not fixed: `reopen HD-1042`, `重開返張單`."""

    intent: ClassVar[str] = "ticket_reopen"
    action: ClassVar[str] = "reopen"


class TicketChase(_TicketAction):
    """Chase a ticket nobody has answered: `any news on HD-1042? it's been days`, `催吓我張單`."""

    intent: ClassVar[str] = "ticket_chase"
    action: ClassVar[str] = "show"
