"""The `/helpdesk` command registry: every subcommand declared once, here and nowhere else.

A subcommand is declared with `@command(name, usage, role, args)` on the function that
runs it. Its help is `commands.help.<name>` in both message catalogues (a two-word name,
`kb draft`, has the key `commands.help.kb_draft`); a test checks every one has both.
Everything that lists subcommands is built from `COMMANDS`: `/helpdesk help` (only what
the asker's role may run), the suggestions for an unknown subcommand, the dispatcher, the
Slack manifest's usage hint, and the README's table (a test compares it with
`markdown_table()`).

**Roles** (`Role`), each may run its own and those before it:
requester (anyone signed in) < engineer (`roles.engineer_groups`) < supervisor
(`roles.supervisor_groups`). Approvers have no subcommand: they answer with the Approve /
Deny buttons or by typing `approve` (`bot.handlers.typed_approval`), so a role that runs
nothing is not declared.

A requester subcommand may also have an engineer's version (`@engineer_version(name)`):
`show` and `reopen` act on any ticket for an engineer, on the asker's own for anyone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.handlers.base import Handler, Turn
from bot.handlers.roles import Role
from bot.i18n import Translator
from bot.messages import Reply


@dataclass(frozen=True)
class Call:
    """One run of a subcommand: the turn, the words after its name, the intent handlers
    (requester subcommands hand over to them) and the asker's role."""

    turn: Turn
    args: list[str]
    handlers: Mapping[str, Handler]
    role: Role


Run = Callable[[Call], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    """A subcommand; its help is `commands.help.<key>` in both message catalogues."""

    name: str
    usage: str
    role: Role
    args: int
    """How many words of arguments must follow (the rest of the text is free text)."""
    run: Run
    engineer_run: Run | None = None
    """The engineer's version of a requester subcommand (any ticket, not the asker's own)."""

    @property
    def key(self) -> str:
        return self.name.replace(" ", "_")

    @property
    def help_key(self) -> str:
        return f"commands.help.{self.key}"

    @property
    def engineer(self) -> bool:
        return self.role >= Role.ENGINEER


_DECLARED: dict[str, Command] = {}
_ENGINEER_VERSIONS: dict[str, Run] = {}


def command(
    name: str, usage: str, role: Role = Role.REQUESTER, args: int = 0
) -> Callable[[Run], Run]:
    """Declare the decorated function as the subcommand `name` (checked at import: a name
    declared twice, or a usage that does not start with its name, fails at once)."""
    if name in _DECLARED:
        raise ValueError(f"/helpdesk {name} is declared twice")
    if not usage.startswith(name):
        raise ValueError(f"/helpdesk {name}: usage {usage!r} must start with the name")

    def declare(run: Run) -> Run:
        _DECLARED[name] = Command(name, usage, role, args, run)
        return run

    return declare


def engineer_version(name: str) -> Callable[[Run], Run]:
    """Declare the decorated function as the engineers' version of requester subcommand
    `name` (declared before it)."""

    def declare(run: Run) -> Run:
        if name in _ENGINEER_VERSIONS:
            raise ValueError(f"/helpdesk {name}: two engineer versions")
        _ENGINEER_VERSIONS[name] = run
        return run

    return declare


def declared() -> tuple[Command, ...]:
    """Every subcommand: the requesters' first, then the engineers', then the supervisors',
    each in the order declared (the order `help` lists them). An engineer version of a
    subcommand nobody declared fails here, at import."""
    missing = set(_ENGINEER_VERSIONS) - set(_DECLARED)
    if missing:
        raise ValueError(f"engineer versions of undeclared subcommands: {sorted(missing)}")
    commands = [replace(c, engineer_run=_ENGINEER_VERSIONS.get(c.name)) for c in _DECLARED.values()]
    return tuple(sorted(commands, key=lambda c: c.role))


def find(words: Sequence[str], commands: Mapping[str, Command]) -> tuple[str, list[str]]:
    """The subcommand the words name (a two-word one first: `kb draft HD-1`) and the rest."""
    if len(words) > 1 and f"{words[0]} {words[1]}".lower() in commands:
        return f"{words[0]} {words[1]}".lower(), list(words[2:])
    return (words[0].lower(), list(words[1:])) if words else ("help", [])


def may_run(role: Role, command: Command) -> bool:
    return role >= command.role


def help_text(t: Translator, role: Role, shown: Sequence[Command]) -> str:
    """Per subcommand of `shown` the asker may run: its usage, then its help indented on
    the next line. Not padded into columns: the longest usage padded every line to about
    105 characters, which wraps badly on a phone or a narrow terminal."""
    lines = [c for c in shown if may_run(role, c)]
    return "\n".join(f"/helpdesk {c.usage}\n    {t(c.help_key)}" for c in lines)


def usage_hint(commands: Sequence[Command], limit: int = 100) -> str:
    """The Slack manifest's usage hint: the requester subcommands' names, then the
    engineers', as many as fit Slack's 100 characters."""
    names = [c.name for c in commands if c.role == Role.REQUESTER] + [
        c.name for c in commands if c.role != Role.REQUESTER
    ]
    hint = ""
    for name in names:
        longer = f"{hint} | {name}" if hint else name
        if len(longer) > limit:
            break
        hint = longer
    return hint


def markdown_table(commands: Sequence[Command]) -> str:
    """The README's table of subcommands: usage, who may run it, help in both languages."""
    en, zh = Translator("en"), Translator("zh-Hant")
    rows = ["| subcommand | who | what it does | 說明 |", "|---|---|---|---|"]
    for c in commands:
        usage = c.usage.replace("|", "\\|")
        who = c.role.label + (" (engineers: any ticket)" if c.engineer_run else "")
        rows.append(f"| `/helpdesk {usage}` | {who} | {en(c.help_key)} | {zh(c.help_key)} |")
    return "\n".join(rows)
