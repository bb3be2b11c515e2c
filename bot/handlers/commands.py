"""`/helpdesk` commands: the same parser for every platform (Slack's slash command,
a Teams message, the console).

Requester subcommands act on the actor's own tickets or start a self-service flow.
Engineer subcommands work the queue; they need membership of a directory group in
`roles.engineer_groups` or `roles.supervisor_groups`, checked on every command
against the directory (never a name typed in chat). Anyone else is refused
politely and the attempt is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from bot.chat_numbers import whole_number
from bot.errors import UserFacingError
from bot.handlers.base import Handler, Turn
from bot.handlers.command_words import closest, in_own_language
from bot.handlers.lookup import lookup
from bot.handlers.on_behalf import for_someone_else
from bot.handlers.supervisor import handoff_command, note, oncall
from bot.handlers.tickets import ACTION as TICKET_ACTION
from bot.handlers.tickets import own_ticket, propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import DirectoryError
from bot.messages import Form, FormField, Reply
from bot.store.conversations import PendingFlow
from bot.tickets.model import QUEUE_VIEWS, TicketError, csat_choice, parse_ticket_ref
from bot.tickets.triage import ACTION, triage_view


@dataclass(frozen=True)
class Command:
    """A subcommand; its help is `commands.help.<name>` in both message catalogues."""

    name: str
    usage: str
    engineer: bool
    args: int = 0
    """How many words of arguments must follow (the rest of the text is free text)."""


COMMANDS: tuple[Command, ...] = (
    Command("help", "help", False),
    Command("tickets", "tickets", False),
    Command("new", "new <what you need>", False, 1),
    Command("comment", "comment <ID> <text>", False, 2),
    Command("cancel", "cancel <ID>", False, 1),
    Command("rate", "rate <ID> <1-5>", False, 2),
    Command("kb", "kb <question>", False, 1),
    Command("unlock", "unlock [<user> <ID>]", False),
    Command("reset", "reset [<user> <ID>]", False),
    Command("tap", "tap [<user> <ID>]", False),
    Command("licences", "licences", False),
    Command("oncall", "oncall [team]", False),
    Command("show", "show <ID>", False, 1),
    Command("reopen", "reopen <ID> [reason]", False, 1),
    Command("queue", "queue [mine|unassigned|team <name>|breaching]", True),
    Command("lookup", "lookup <user>", True, 1),
    Command(
        "handoff", "handoff [previous|current|<date> <shift>] [team] | handoff note <text>", True
    ),
    Command("claim", "claim <ID>", True, 1),
    Command("assign", "assign <ID> @user|<team>", True, 2),
    Command("note", "note <ID> <text>", True, 2),
    Command("watch", "watch <ID> @user", True, 2),
    Command("reply", "reply <ID> <text>", True, 2),
    Command("contact", "contact <ID> phone|email|chat <note>", True, 2),
    Command("priority", "priority <ID> P1|P2|P3|P4", True, 2),
    Command("escalate", "escalate <ID> <team> <reason>", True, 3),
    Command("wait", "wait <ID> <reason>", True, 2),
    Command("resolve", "resolve <ID> <resolution>", True, 2),
)
BY_NAME = {c.name: c for c in COMMANDS}
ENGINEER_SIDE = frozenset(c.name for c in COMMANDS if c.engineer) | {"show", "reopen"}
"""The subcommands an engineer runs the engineer's version of (any ticket, not their own)."""
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
    if not words:
        return "help", []
    return words[0].lower(), words[1:]


def help_text(t: Translator, engineer: bool, shown: Sequence[Command] = COMMANDS) -> str:
    """One line per subcommand of `shown` the asker may run: usage, then its help."""
    shown = [c for c in shown if engineer or not c.engineer]
    width = max(len(c.usage) for c in shown)
    return "\n".join(
        f"/helpdesk {c.usage.ljust(width)}  {t('commands.help.' + c.name)}" for c in shown
    )


def person(turn: Turn, name: str) -> str:
    """`@ho.kawai` → ho.kawai@<the actor's domain>; `someone@corp` stays as it is."""
    name = name.lstrip("@")
    if "@" in name:
        return name.lower()
    domain = (turn.msg.actor.email or "@").split("@", 1)[1]
    return f"{name.lower()}@{domain}" if domain else name.lower()


async def is_engineer(turn: Turn, email: str | None = None) -> bool:
    """Whether `email` (default: the actor) is in an engineer or supervisor group."""
    roles = turn.services.settings.roles
    allowed = set(roles.engineer_groups) | set(roles.supervisor_groups)
    try:
        if email is None:
            account = await turn.account("role_check")
        else:
            account = await turn.services.directory.find_by_email(email)
        groups = await turn.services.directory.groups(account)
    except DirectoryError:
        return False
    return bool(allowed & set(groups))


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
        name, args = split_command(msg.text)
        return await self.run(turn, name, args)

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        if not turn.msg.text:
            return None
        turn.done()
        action = pending.flow.removeprefix("command.")
        return await self.run(turn, action, [str(pending.state["ticket"]), *turn.msg.text.split()])

    def _refuse(self, turn: Turn, name: str) -> list[Reply]:
        turn.audit(
            action=f"command.{name}",
            outcome="refused",
            target=None,
            actor=None,
            reason="not a member of an engineer or supervisor group",
        )
        return [Reply(turn.t("commands.refused"), private=True)]

    async def run(self, turn: Turn, name: str, args: list[str]) -> list[Reply]:
        command = BY_NAME.get(name)
        engineer = (
            await is_engineer(turn)
            if command is None or name in ENGINEER_SIDE or name == "help"
            else False
        )
        if engineer:
            turn = in_own_language(turn)
        t = turn.t
        if command is None:
            near = closest(name, [c for c in COMMANDS if engineer or not c.engineer])
            key = "commands.did_you_mean" if near else "commands.unknown"
            listed = help_text(t, engineer, near or COMMANDS)
            return [Reply(t(key, name=name) + "\n" + listed, private=True)]
        if command.engineer and not engineer:
            return self._refuse(turn, name)
        if len(args) < command.args:
            return [Reply(t("commands.usage", usage=f"/helpdesk {command.usage}"), private=True)]
        if name == "help":
            return [Reply(help_text(t, engineer), private=True)]
        if engineer and name in ENGINEER_SIDE:
            try:
                return await self._engineer(turn, name, args)
            except UserFacingError as exc:  # answered here, in the engineer's own language
                return [Reply(t(exc.key, **exc.params), private=True)]
        return await self._requester(turn, name, args)

    async def _requester(self, turn: Turn, name: str, args: list[str]) -> list[Reply]:
        by_intent = self._handlers
        rest = " ".join(args)
        if name == "new":
            return await propose_ticket(turn, summary=rest, description=rest, category="other")
        intents = {
            "tickets": ("ticket_status", ""),
            "kb": ("kb_question", rest),
            "unlock": ("unlock", "unlock my account"),
            "reset": ("password_reset", "reset my password"),
            "tap": ("new_phone", "I got a new phone"),
            "licences": ("licence_check", "what licences do I have"),
        }
        if name == "oncall":
            return oncall(turn, args)
        if name in ("unlock", "reset", "tap") and args:
            return await for_someone_else(turn, name, args)
        if name in intents:
            intent, text = intents[name]
            inner = replace(turn, msg=replace(turn.msg, text=text))
            return await by_intent[intent].handle(inner)
        status = by_intent["ticket_status"]
        number = parse_ticket_ref(args[0])
        if name == "rate":
            score = whole_number(args[1], 0)
            if score is None:
                usage = "/helpdesk " + BY_NAME["rate"].usage
                return [Reply(turn.t("commands.usage", usage=usage), private=True)]
            inner = replace(turn, msg=replace(turn.msg, choice=csat_choice(number or 0, score)))
            return await status.handle(inner)
        if name == "comment" and number is not None:
            ticket = own_ticket(turn, number, args[0])
            turn.services.tickets.comment(
                ticket.number, turn.msg.actor.email or "", " ".join(args[1:])
            )
            return [Reply(turn.t("ticket.comment_added", ref=ticket.ref))]
        if name == "reopen" and len(args) > 1 and number is not None:
            ticket = own_ticket(turn, number, args[0])
            turn.services.tickets.reopen(
                ticket.number, turn.msg.actor.email or "", " ".join(args[1:]), requester=True
            )
            return [Reply(turn.t("ticket.reopened", ref=ticket.ref))]
        # show, cancel, and comment/reopen without their text: the ticket buttons' flows
        inner = replace(turn, msg=replace(turn.msg, choice=f"{TICKET_ACTION}{name}:{number or 0}"))
        return await status.handle(inner)

    async def _engineer(self, turn: Turn, name: str, args: list[str]) -> list[Reply]:
        t = turn.t
        me = turn.msg.actor.email or turn.msg.actor.user_id
        tickets = turn.services.tickets
        if name == "queue":
            view = args[0].lower() if args else "open"
            team = " ".join(args[1:])
            if view not in QUEUE_VIEWS:
                return [
                    Reply(
                        t("commands.usage", usage=f"/helpdesk {BY_NAME['queue'].usage}"),
                        private=True,
                    )
                ]
            found = tickets.queue(view, engineer=me, team=self._team(turn, team) or team)
            if not found:
                return [Reply(t("commands.queue_empty", view=view), private=True)]
            lines = [
                f"{x.ref} {x.priority} {t('ticket.state.' + x.state)}"
                f" · {x.assignee or '—'} · {x.team} · {x.summary}"
                for x in found
            ]
            return [
                Reply(
                    t("commands.queue", view=view, count=len(found)) + "\n" + "\n".join(lines),
                    private=True,
                )
            ]
        if name == "handoff":
            if args and args[0].lower() == "note":
                if len(args) < 2:
                    return [Reply(t("commands.usage", usage="/helpdesk handoff note <text>"))]
                return note(turn, " ".join(args[1:]))
            return await handoff_command(turn, args)
        if name == "lookup":
            return await lookup(turn, args[0], person(turn, args[0]))
        number = parse_ticket_ref(args[0])
        if number is None:
            raise TicketError("ticket.unknown", ref=args[0])
        rest = " ".join(args[1:])
        if name == "show":
            ticket = tickets.require(number)
            return [triage_view(ticket, t, tickets.events(number), history=10)]
        if name == "claim":
            ticket = tickets.claim(number, me)
        elif name == "assign":
            target = args[1]
            if target.startswith("@"):
                assignee = self._person(turn, target[1:])
                if not await is_engineer(turn, assignee):
                    return [Reply(t("commands.not_engineer", person=assignee), private=True)]
                ticket = tickets.assign(number, me, user=assignee)
            else:
                named = self._team(turn, rest)
                if named is None:
                    raise TicketError(
                        "ticket.unknown_team", team=rest, teams=", ".join(tickets.teams)
                    )
                ticket = tickets.assign(number, me, team=named)
        elif name == "note":
            ticket = tickets.note(number, me, rest)
        elif name == "watch":
            ticket = tickets.watch(number, me, self._person(turn, args[1].lstrip("@")))
        elif name == "reply":
            ticket = tickets.reply(number, me, rest)
        elif name == "contact":
            channel = args[1].lower()
            if channel not in ("phone", "email", "chat"):
                return [
                    Reply(
                        t("commands.usage", usage=f"/helpdesk {BY_NAME['contact'].usage}"),
                        private=True,
                    )
                ]
            ticket = tickets.contact(number, me, channel, " ".join(args[2:]))
        elif name == "priority":
            ticket = tickets.set_priority(number, me, args[1].upper())
        elif name == "escalate":
            to, reason = self._team_and_reason(turn, args[1:])
            if to is None:
                raise TicketError(
                    "ticket.unknown_team", team=args[1], teams=", ".join(tickets.teams)
                )
            ticket = tickets.escalate(number, me, to, reason)
        elif name == "wait":
            ticket = tickets.wait(number, me, rest)
        elif name == "resolve":
            ticket = tickets.resolve(number, me, rest)
        else:  # reopen
            ticket = tickets.reopen(number, me, rest, requester=False)
        return [Reply(t("commands.done", ref=ticket.ref, action=name)), triage_view(ticket, t)]

    @staticmethod
    def _team(turn: Turn, text: str) -> str | None:
        wanted = text.strip().lower()
        return next((x for x in turn.services.tickets.teams if x.lower() == wanted), None)

    def _team_and_reason(self, turn: Turn, words: list[str]) -> tuple[str | None, str]:
        """Teams may have spaces ("Service Desk"): the longest leading words that name one."""
        for size in range(len(words), 0, -1):
            team = self._team(turn, " ".join(words[:size]))
            if team is not None:
                return team, " ".join(words[size:])
        return None, ""

    @staticmethod
    def _person(turn: Turn, name: str) -> str:
        return person(turn, name)
