"""Command words outside the `/helpdesk` form: an engineer's bare `claim HD-1003` in chat,
the closest subcommands to one the bot does not know, and the language engineers are
answered in.

**Without the prefix.** A message is taken as an engineer's subcommand only when it has
the shape engineers type: a subcommand engineers run, followed by what it needs — a ticket
written as a ticket (`HD-1003`, `hd1003`, `#1003`; a bare number is not enough, so "wait
10 minutes" stays a sentence), `queue` alone or with a view, `lookup` with one name,
`handoff` alone or with `previous` / `current` / `note`. The engine then checks the
sender's engineer role against the directory (DESIGN rule 2). For anyone else, the words
of a subcommand only engineers have, on a ticket ("claim HD-1003", "resolve HD-1003 fixed"),
are refused as the `/helpdesk` form is, and the attempt is audited (DESIGN rule 6:
`command.claim` / `refused`); words requesters have a meaning of their own for mean what
they always meant: "cancel HD-1003" and "reopen HD-1003" are their own ticket actions,
"show HD-1003" their ticket, and "queue", "lookup bob", "handoff" are ordinary words.

**Closest subcommands.** An unknown subcommand is compared with rapidfuzz against every
subcommand the asker may run: its name (spelling), each word of its help in English (so
"take" finds `claim`) and its Chinese help (so 「認領」 finds `claim`).

**The engineer's language.** An engineer's replies are in their own language: the one
their platform reports for them (Slack's locale), not the language of the note, reply or
resolution they typed — an English-speaking engineer who writes a note in Chinese still
reads "HD-1003: note done.". The requester's notices keep the ticket's own language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from rapidfuzz import fuzz

from bot.handlers.base import Turn
from bot.i18n import LANGUAGES, Translator, catalogue
from bot.language import has_han
from bot.tickets.model import QUEUE_VIEWS


class Command(Protocol):
    """What this module reads of a subcommand (`bot.handlers.commands.Command`)."""

    @property
    def name(self) -> str: ...

    @property
    def usage(self) -> str: ...

    @property
    def help_key(self) -> str: ...

    @property
    def engineer(self) -> bool: ...


_C = TypeVar("_C", bound=Command)


_TICKET = re.compile(r"^(?:hd-?|#)\d+$", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
_SHAPES: dict[str, Callable[[list[str]], bool]] = {
    "queue": lambda args: not args or args[0].lower() in QUEUE_VIEWS,
    "lookup": lambda args: len(args) == 1,
    "handoff": lambda args: not args or args[0].lower() in ("previous", "current", "note"),
}
_CLOSE = 75
"""The least rapidfuzz score (0-100) that makes a subcommand worth suggesting."""


def engineer_words(
    text: str, commands: Mapping[str, Command], engineer_side: frozenset[str]
) -> bool:
    """Whether `text`, typed without `/helpdesk`, has the shape of an engineer's subcommand
    (`engineer_side`: the subcommands engineers run their own version of)."""
    words = text.split()
    if not words or words[0].lower() not in engineer_side:
        return False
    name, args = words[0].lower(), words[1:]
    if name in _SHAPES:
        return _SHAPES[name](args)
    takes_ticket = commands[name].usage.split()[1:2] == ["<ID>"]
    return takes_ticket and bool(args) and _TICKET.match(args[0]) is not None


def closest(word: str, commands: Sequence[_C], limit: int = 3) -> list[_C]:
    """The subcommands nearest to an unknown `word`, best first (none when nothing is close)."""
    word = word.lower()
    scored: list[tuple[float, int, _C]] = []
    for order, command in enumerate(commands):
        score = fuzz.ratio(word, command.name)
        for lang in LANGUAGES:
            help_text = catalogue(lang)[command.help_key].lower()
            if has_han(word):
                score = max(score, fuzz.partial_ratio(word, help_text))
            elif len(word) > 3:  # "the", "to" would match half the help
                score = max([score, *(fuzz.ratio(word, w) for w in _WORD.findall(help_text))])
        if score >= _CLOSE:
            scored.append((-score, order, command))
    return [command for _, _, command in sorted(scored)[:limit]]


def in_own_language(turn: Turn) -> Turn:
    """The same turn, answered in the engineer's own language, not the typed text's: the
    one they asked for ("English please", 「講中文」, remembered), else their platform's."""
    remembered = turn.services.languages.get(turn.msg.actor)
    if remembered is not None and remembered.chosen:
        lang = remembered.lang
    else:
        lang = turn.msg.locale or turn.msg.lang
    if lang == turn.t.lang:
        return turn
    return replace(turn, msg=replace(turn.msg, lang=lang), t=Translator(lang))


def engineer_only_words(
    text: str, commands: Mapping[str, Command], engineer_side: frozenset[str]
) -> bool:
    """Whether `text` is an engineer's subcommand on a ticket that requesters have no
    version of (`claim HD-1003`): from anyone else, an attempt to refuse and audit."""
    if not engineer_words(text, commands, engineer_side):
        return False
    name = text.split()[0].lower()
    return commands[name].engineer and name not in _SHAPES
