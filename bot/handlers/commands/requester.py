"""The requester's subcommands: their own tickets, self-service, help articles, on call."""

from __future__ import annotations

from dataclasses import replace

from bot.chat_numbers import whole_number
from bot.handlers.commands.registry import Call, command
from bot.handlers.on_behalf import for_someone_else
from bot.handlers.supervisor import oncall
from bot.handlers.tickets import ACTION as TICKET_ACTION
from bot.handlers.tickets import own_ticket, propose_ticket
from bot.messages import Reply
from bot.tickets.model import csat_choice, parse_ticket_ref


async def _intent(call: Call, intent: str, text: str) -> list[Reply]:
    """Hand over to the intent's handler as if `text` had been typed."""
    turn = call.turn
    inner = replace(turn, msg=replace(turn.msg, text=text))
    return await call.handlers[intent].handle(inner)


async def _ticket_button(call: Call, action: str) -> list[Reply]:
    """The ticket buttons' flow for `action` on the ticket named first."""
    turn = call.turn
    number = parse_ticket_ref(call.args[0]) if call.args else None
    inner = replace(turn, msg=replace(turn.msg, choice=f"{TICKET_ACTION}{action}:{number or 0}"))
    return await call.handlers["ticket_status"].handle(inner)


@command("help", "help")
async def help_(call: Call) -> list[Reply]:
    raise AssertionError("answered by the dispatcher, which knows the asker's role")


@command("tickets", "tickets")
async def tickets(call: Call) -> list[Reply]:
    return await _intent(call, "ticket_status", "")


@command("new", "new <what you need>", args=1)
async def new(call: Call) -> list[Reply]:
    rest = " ".join(call.args)
    return await propose_ticket(call.turn, summary=rest, description=rest, category="other")


@command("comment", "comment <ID> <text>", args=2)
async def comment(call: Call) -> list[Reply]:
    turn, args = call.turn, call.args
    number = parse_ticket_ref(args[0])
    if number is None:
        return await _ticket_button(call, "comment")
    ticket = own_ticket(turn, number, args[0])
    turn.services.tickets.comment(ticket.number, turn.msg.actor.email or "", " ".join(args[1:]))
    return [Reply(turn.t("ticket.comment_added", ref=ticket.ref))]


@command("cancel", "cancel <ID>", args=1)
async def cancel(call: Call) -> list[Reply]:
    return await _ticket_button(call, "cancel")


@command("rate", "rate <ID> <1-5>", args=2)
async def rate(call: Call) -> list[Reply]:
    turn = call.turn
    score = whole_number(call.args[1], 0)
    if score is None:
        return [Reply(turn.t("commands.usage", usage="/helpdesk rate <ID> <1-5>"), private=True)]
    number = parse_ticket_ref(call.args[0]) or 0
    inner = replace(turn, msg=replace(turn.msg, choice=csat_choice(number, score)))
    return await call.handlers["ticket_status"].handle(inner)


@command("kb", "kb <question>", args=1)
async def kb(call: Call) -> list[Reply]:
    return await _intent(call, "kb_question", " ".join(call.args))


@command("unlock", "unlock [<user> <ID>]")
async def unlock(call: Call) -> list[Reply]:
    if call.args:
        return await for_someone_else(call.turn, "unlock", call.args)
    return await _intent(call, "unlock", "unlock my account")


@command("reset", "reset [<user> <ID>]")
async def reset(call: Call) -> list[Reply]:
    if call.args:
        return await for_someone_else(call.turn, "reset", call.args)
    return await _intent(call, "password_reset", "reset my password")


@command("tap", "tap [<user> <ID>]")
async def tap(call: Call) -> list[Reply]:
    if call.args:
        return await for_someone_else(call.turn, "tap", call.args)
    return await _intent(call, "new_phone", "I got a new phone")


@command("licences", "licences")
async def licences(call: Call) -> list[Reply]:
    return await _intent(call, "licence_check", "what licences do I have")


@command("oncall", "oncall [team]")
async def oncall_(call: Call) -> list[Reply]:
    return oncall(call.turn, call.args)


@command("show", "show <ID>", args=1)
async def show(call: Call) -> list[Reply]:
    return await _ticket_button(call, "show")


@command("reopen", "reopen <ID> [reason]", args=1)
async def reopen(call: Call) -> list[Reply]:
    turn, args = call.turn, call.args
    number = parse_ticket_ref(args[0])
    if len(args) < 2 or number is None:
        return await _ticket_button(call, "reopen")
    ticket = own_ticket(turn, number, args[0])
    turn.services.tickets.reopen(
        ticket.number, turn.msg.actor.email or "", " ".join(args[1:]), requester=True
    )
    return [Reply(turn.t("ticket.reopened", ref=ticket.ref))]
