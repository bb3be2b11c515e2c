"""`/helpdesk incident …`: engineers run major incidents from chat (`bot.incidents`)."""

from __future__ import annotations

from bot.clock import parse_iso
from bot.handlers.base import Turn
from bot.handlers.commands.registry import Call, command
from bot.handlers.people import display_name
from bot.handlers.roles import Role
from bot.incidents.model import IncidentError, parse_incident_ref
from bot.incidents.service import IncidentService
from bot.messages import Reply
from bot.tickets.model import TicketError, parse_ticket_ref

_TICKET_PREFIXES = ("hd", "#")


def incidents(turn: Turn) -> IncidentService:
    services = turn.services
    return IncidentService(services.db, services.settings, services.tickets, services.clock)


def _tickets(words: list[str]) -> tuple[list[str], list[int]]:
    """Split words into text and the tickets named as tickets (`HD-1003`, `#1003`)."""
    text, tickets = [], []
    for word in words:
        number = parse_ticket_ref(word) if word.lower().startswith(_TICKET_PREFIXES) else None
        if number is None:
            text.append(word)
        else:
            tickets.append(number)
    return text, tickets


def _number(turn: Turn, word: str) -> int:
    number = parse_incident_ref(word)
    if number is None:
        raise IncidentError("incident.unknown", ref=word)
    return number


@command(
    "incident",
    "incident declare <title> [HD-n…] | update|resolve <INC-n> <text> | link <INC-n> HD-n… | list",
    Role.ENGINEER,
    1,
)
async def incident(call: Call) -> list[Reply]:
    turn, t = call.turn, call.turn.t
    action, rest = call.args[0].lower(), call.args[1:]
    service = incidents(turn)
    me = turn.msg.actor.email or turn.msg.actor.user_id
    name = await display_name(turn, me)
    if action == "list":
        found = service.open_ones()
        if not found:
            return [Reply(t("incident.none"), private=True)]
        lines = [
            t(
                "incident.line",
                incident=x.ref,
                title=x.title,
                tickets=len(service.tickets(x.number)),
                since=turn.local_time(parse_iso(x.opened_at)),
                by=await display_name(turn, x.declared_by),
            )
            for x in found
        ]
        return [Reply(t("incident.list", count=len(found)) + "\n" + "\n".join(lines), private=True)]
    if action == "declare" and rest:
        words, tickets = _tickets(rest)
        if not words:
            return [Reply(t("incident.usage"), private=True)]
        for number in tickets:
            turn.services.tickets.require(number)  # an unknown ticket: said before anything
        made = service.declare(me, " ".join(words), tickets, shown_as=name)
        said = t("incident.declared", incident=made.ref, title=made.title, count=len(tickets))
        return [Reply(said)]
    if action in ("update", "resolve", "link") and len(rest) >= 2:
        number = _number(turn, rest[0])
        text = " ".join(rest[1:])
        if action == "update":
            updated = service.update(number, me, text, shown_as=name)
            return [Reply(t("incident.updated", incident=updated.ref))]
        if action == "link":
            _, tickets = _tickets(rest[1:])
            if not tickets:
                raise TicketError("ticket.unknown", ref=rest[1])
            linked = service.link(number, me, tickets, shown_as=name)
            return [Reply(t("incident.linked", incident=linked.ref, count=len(tickets)))]
        done = service.resolve(number, me, text)
        return [
            Reply(
                t(
                    "incident.resolved_done",
                    incident=done.incident.ref,
                    tickets=done.tickets_resolved,
                    people=done.people_told,
                )
            )
        ]
    return [Reply(t("incident.usage"), private=True)]
