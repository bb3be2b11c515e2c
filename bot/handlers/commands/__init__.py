"""`/helpdesk` commands: the same parser for every platform (Slack's slash command,
a Teams message, the console).

Every subcommand is declared once, in `registry` (usage, who may run it, help in both
catalogues); this package's modules hold what each one does: `requester` (own tickets,
self-service), `engineer` (the queue and tickets), `incident` (major incidents),
`kb_draft` (resolutions into articles). Roles are checked on every command against the
directory (`roles`, never a name typed in chat); anyone else is refused politely and the
attempt is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bot.errors import UserFacingError
from bot.handlers.base import Handler, Turn
from bot.handlers.command_words import closest, in_own_language
from bot.handlers.commands import engineer, incident, kb_draft, requester, supervisor
from bot.handlers.commands.registry import (
    Call,
    Command,
    declared,
    find,
    help_text,
    may_run,
)
from bot.handlers.roles import Role, is_engineer, person, role_of
from bot.messages import Form, FormField, Reply
from bot.store.conversations import PendingFlow
from bot.tickets.model import parse_ticket_ref
from bot.tickets.triage import ACTION

__all__ = [
    "BY_NAME",
    "COMMANDS",
    "ENGINEER_SIDE",
    "Command",
    "Commands",
    "Role",
    "is_engineer",
    "person",
    "split_command",
]

_MODULES = (requester, engineer, incident, kb_draft, supervisor)
"""Imported for their declarations (the order `help` lists them in)."""

COMMANDS: tuple[Command, ...] = declared()
BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
ENGINEER_SIDE = frozenset(
    c.name for c in COMMANDS if " " not in c.name and (c.engineer or c.engineer_run)
)
"""The one-word subcommands an engineer runs the engineer's version of."""
# Buttons that need more words: what to ask for.
_ASK = {
    "assign": "commands.ask_assign",
    "escalate": "commands.ask_escalate",
    "resolve": "commands.ask_resolve",
}


def split_command(text: str) -> tuple[str, list[str]]:
    """`/helpdesk note HD-1 text here` → ("note", ["HD-1", "text", "here"])."""
    words = text.split()
    if words and words[0].lower() in ("/helpdesk", "/hd"):
        words = words[1:]
    return find(words, BY_NAME)


class Commands:
    """Commands: `/helpdesk help` lists what you can do; engineers work the queue with it."""

    intent: ClassVar[str] = "command"

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = handlers

    async def handle(self, turn: Turn) -> list[Reply]:
        msg = turn.msg
        if msg.choice and msg.choice.startswith(ACTION):
            action, _, raw = msg.choice.removeprefix(ACTION).partition(":")
            ticket = parse_ticket_ref(raw)
            if ticket is None:
                return [Reply(turn.t("engine.choice_expired"), private=True)]
            number = str(ticket)
            if action in _ASK:
                if not await is_engineer(turn):
                    return self._refuse(turn, action)
                answer = (msg.form or {}).get("text", "").split()
                if answer:  # the small form below, submitted
                    return await self.run(turn, action, [number, *answer])
                prompt = turn.t(_ASK[action], ref=f"HD-{number}")
                if msg.forms:
                    form = Form(
                        msg.choice,
                        f"{action.title()} HD-{number}",
                        (FormField("text", prompt),),
                        action.title(),
                    )
                    return [Reply(prompt, form=form, private=True)]
                turn.expect(f"command.{action}", {"ticket": number})
                return [Reply(prompt)]
            return await self.run(turn, action, [number])
        if msg.command is not None:  # a two-word subcommand (`kb draft`) is found here
            name, args = find([msg.command.name, *msg.command.args], BY_NAME)
        else:
            name, args = split_command(msg.text)
        return await self.run(turn, name, args)

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        if not turn.msg.text:
            return None
        turn.done()
        action = pending.flow.removeprefix("command.")
        return await self.run(turn, action, [str(pending.state["ticket"]), *turn.msg.text.split()])

    def _refuse(self, turn: Turn, name: str, role: Role = Role.REQUESTER) -> list[Reply]:
        turn.audit(
            action=f"command.{name}",
            outcome="refused",
            target=None,
            actor=None,
            reason="not a member of a group allowed to run it",
        )
        # an engineer is the service desk: what they lack is the supervisor's role
        key = "commands.refused_supervisor" if role >= Role.ENGINEER else "commands.refused"
        return [Reply(turn.t(key), private=True)]

    async def run(self, turn: Turn, name: str, args: list[str]) -> list[Reply]:
        command = BY_NAME.get(name)
        needs_role = command is None or name == "help" or command.engineer or command.engineer_run
        role = await role_of(turn) if needs_role else Role.REQUESTER
        if role >= Role.ENGINEER:
            turn = in_own_language(turn)
        t = turn.t
        if command is None:
            near = closest(name, [c for c in COMMANDS if may_run(role, c)])
            key = "commands.did_you_mean" if near else "commands.unknown"
            listed = help_text(t, role, near or COMMANDS)
            return [Reply(t(key, name=name) + "\n" + listed, private=True)]
        if not may_run(role, command):
            return self._refuse(turn, name, role)
        if len(args) < command.args:
            return [Reply(t("commands.usage", usage=f"/helpdesk {command.usage}"), private=True)]
        if name == "help":
            return [Reply(help_text(t, role, COMMANDS), private=True)]
        call = Call(turn, args, self._handlers, role)
        if role >= Role.ENGINEER and (command.engineer or command.engineer_run):
            try:
                return await (command.engineer_run or command.run)(call)
            except UserFacingError as exc:  # answered here, in the engineer's own language
                return [Reply(t(exc.key, **exc.params), private=True)]
        return await command.run(call)
