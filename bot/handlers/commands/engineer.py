"""The engineers' subcommands: work the queue and one ticket at a time.

Each answers "HD-n: <action> done." and the ticket's triage view, in the engineer's own
language. Who may run them is checked by the dispatcher (`bot.handlers.commands`).
"""

from __future__ import annotations

from bot.handlers.base import Turn
from bot.handlers.commands.registry import Call, command, engineer_version
from bot.handlers.commands.requester import comment as requester_comment
from bot.handlers.lookup import lookup as lookup_account
from bot.handlers.people import display_name
from bot.handlers.roles import Role, is_engineer, person
from bot.handlers.supervisor import handoff_command
from bot.handlers.supervisor import note as handoff_note
from bot.messages import Reply
from bot.tickets.model import QUEUE_VIEWS, Ticket, TicketError, parse_ticket_ref
from bot.tickets.triage import engineer_state, triage_view

ENGINEER = Role.ENGINEER


def _me(turn: Turn) -> str:
    return turn.msg.actor.email or turn.msg.actor.user_id


def _usage(turn: Turn, usage: str) -> list[Reply]:
    return [Reply(turn.t("commands.usage", usage=f"/helpdesk {usage}"), private=True)]


def team_named(turn: Turn, text: str) -> str | None:
    wanted = text.strip().lower()
    return next((x for x in turn.services.tickets.teams if x.lower() == wanted), None)


def _team_and_reason(turn: Turn, words: list[str]) -> tuple[str | None, str]:
    """Teams may have spaces ("Service Desk"): the longest leading words that name one."""
    for size in range(len(words), 0, -1):
        team = team_named(turn, " ".join(words[:size]))
        if team is not None:
            return team, " ".join(words[size:])
    return None, ""


def _number(call: Call) -> int:
    number = parse_ticket_ref(call.args[0])
    if number is None:
        raise TicketError("ticket.unknown", ref=call.args[0])
    return number


def _done(turn: Turn, ticket: Ticket, action: str) -> list[Reply]:
    return [
        Reply(turn.t("commands.done", ref=ticket.ref, action=action)),
        triage_view(ticket, turn.t),
    ]


@command("queue", "queue [mine|unassigned|team <name>|breaching]", ENGINEER)
async def queue(call: Call) -> list[Reply]:
    turn, t = call.turn, call.turn.t
    view = call.args[0].lower() if call.args else "open"
    team = " ".join(call.args[1:])
    if view not in QUEUE_VIEWS:
        return _usage(turn, "queue [mine|unassigned|team <name>|breaching]")
    found = turn.services.tickets.queue(
        view, engineer=_me(turn), team=team_named(turn, team) or team
    )
    if not found:
        return [Reply(t("commands.queue_empty", view=view), private=True)]
    lines = [
        f"{x.ref} {x.priority} {engineer_state(t, x.state)}"
        f" · {x.assignee or '—'} · {x.team} · {x.summary}"
        for x in found
    ]
    head = t("commands.queue", view=view, count=len(found))
    return [Reply(head + "\n" + "\n".join(lines), private=True)]


@command("lookup", "lookup <user>", ENGINEER, 1)
async def lookup(call: Call) -> list[Reply]:
    return await lookup_account(call.turn, call.args[0], person(call.turn, call.args[0]))


@command(
    "handoff", "handoff [previous|current|<date> <shift>] [team] | handoff note <text>", ENGINEER
)
async def handoff(call: Call) -> list[Reply]:
    turn, args = call.turn, call.args
    if args and args[0].lower() == "note":
        if len(args) < 2:
            return _usage(turn, "handoff note <text>")
        return handoff_note(turn, " ".join(args[1:]))
    return await handoff_command(turn, args)


@engineer_version("show")
async def show(call: Call) -> list[Reply]:
    tickets = call.turn.services.tickets
    number = _number(call)
    ticket = tickets.require(number)
    return [triage_view(ticket, call.turn.t, tickets.events(number), history=10)]


@command("claim", "claim <ID>", ENGINEER, 1)
async def claim(call: Call) -> list[Reply]:
    turn = call.turn
    me = _me(turn)
    name = await display_name(turn, me)
    return _done(turn, turn.services.tickets.claim(_number(call), me, shown_as=name), "claim")


@command("assign", "assign <ID> @user|<team>", ENGINEER, 2)
async def assign(call: Call) -> list[Reply]:
    turn, tickets = call.turn, call.turn.services.tickets
    number, target = _number(call), call.args[1]
    if target.startswith("@"):
        assignee = person(turn, target[1:])
        if not await is_engineer(turn, assignee):
            return [Reply(turn.t("commands.not_engineer", person=assignee), private=True)]
        return _done(turn, tickets.assign(number, _me(turn), user=assignee), "assign")
    rest = " ".join(call.args[1:])
    named = team_named(turn, rest)
    if named is None:
        raise TicketError("ticket.unknown_team", team=rest, teams=", ".join(tickets.teams))
    return _done(turn, tickets.assign(number, _me(turn), team=named), "assign")


@command("note", "note <ID> <text>", ENGINEER, 2)
async def note(call: Call) -> list[Reply]:
    turn = call.turn
    ticket = turn.services.tickets.note(_number(call), _me(turn), " ".join(call.args[1:]))
    return _done(turn, ticket, "note")


@command("watch", "watch <ID> @user", ENGINEER, 2)
async def watch(call: Call) -> list[Reply]:
    turn = call.turn
    who = person(turn, call.args[1].lstrip("@"))
    return _done(turn, turn.services.tickets.watch(_number(call), _me(turn), who), "watch")


@command("reply", "reply <ID> <text>", ENGINEER, 2)
async def reply(call: Call) -> list[Reply]:
    turn = call.turn
    ticket = turn.services.tickets.reply(_number(call), _me(turn), " ".join(call.args[1:]))
    return _done(turn, ticket, "reply")


@engineer_version("comment")
async def comment(call: Call) -> list[Reply]:
    """An engineer's comment on someone else's ticket is a reply to its requester (they are
    told, in their own language, with the words as typed); on the engineer's own ticket, or
    with no ticket named, it is the requester's comment."""
    turn = call.turn
    number = parse_ticket_ref(call.args[0])
    ticket = turn.services.tickets.get(number) if number else None
    if ticket is None or ticket.requester_email == (turn.msg.actor.email or ""):
        return await requester_comment(call)
    return await reply(call)


@command("contact", "contact <ID> phone|email|chat <note>", ENGINEER, 2)
async def contact(call: Call) -> list[Reply]:
    turn = call.turn
    channel = call.args[1].lower()
    if channel not in ("phone", "email", "chat"):
        return _usage(turn, "contact <ID> phone|email|chat <note>")
    ticket = turn.services.tickets.contact(
        _number(call), _me(turn), channel, " ".join(call.args[2:])
    )
    return _done(turn, ticket, "contact")


@command("priority", "priority <ID> P1|P2|P3|P4", ENGINEER, 2)
async def priority(call: Call) -> list[Reply]:
    turn = call.turn
    ticket = turn.services.tickets.set_priority(_number(call), _me(turn), call.args[1].upper())
    return _done(turn, ticket, "priority")


@command("escalate", "escalate <ID> <team> <reason>", ENGINEER, 3)
async def escalate(call: Call) -> list[Reply]:
    turn, tickets = call.turn, call.turn.services.tickets
    number = _number(call)
    to, reason = _team_and_reason(turn, call.args[1:])
    if to is None:
        raise TicketError("ticket.unknown_team", team=call.args[1], teams=", ".join(tickets.teams))
    return _done(turn, tickets.escalate(number, _me(turn), to, reason), "escalate")


@command("wait", "wait <ID> <reason>", ENGINEER, 2)
async def wait(call: Call) -> list[Reply]:
    turn = call.turn
    ticket = turn.services.tickets.wait(_number(call), _me(turn), " ".join(call.args[1:]))
    return _done(turn, ticket, "wait")


@command("resolve", "resolve <ID> <resolution>", ENGINEER, 2)
async def resolve(call: Call) -> list[Reply]:
    turn = call.turn
    ticket = turn.services.tickets.resolve(_number(call), _me(turn), " ".join(call.args[1:]))
    return _done(turn, ticket, "resolve")


@engineer_version("reopen")
async def reopen(call: Call) -> list[Reply]:
    turn = call.turn
    ticket = turn.services.tickets.reopen(
        _number(call), _me(turn), " ".join(call.args[1:]), requester=False
    )
    return _done(turn, ticket, "reopen")
