"""The console adapter: chat with the full engine in a terminal.

Interactive when stdin is a terminal (a `you>` prompt); otherwise it reads one
message per line and prints the replies, so it can be scripted and tested.
Choices are numbered: answering with the number clicks that choice.

Identity: `--as EMAIL` is trusted as the verified email because the console is a
local tool over the demo directory; `helpdesk chat` refuses any other directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from bot.engine import Engine
from bot.messages import Actor, Choice, Incoming, Reply

QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", "bye!"})


def render(reply: Reply) -> str:
    """A reply as terminal text: text, article cards, numbered choices."""
    lines = [reply.text]
    lines += [f"  {name}: {value}" for name, value in reply.fields]
    if reply.form is not None:
        lines.append(f"  [{reply.form.title}]")
        lines += [f"  - {f.label}{' *' if f.required else ''}" for f in reply.form.fields]
    for card in reply.cards:
        lines.append(f"  • {card.title}")
        if card.summary:
            lines.append(f"    {card.summary}")
    for number, choice in enumerate(reply.choices, start=1):
        lines.append(f"  {number}) {choice.label}")
    return "\n".join(lines)


class ConsoleChat:
    """One person chatting with the engine; remembers the last choices offered."""

    def __init__(self, engine: Engine, actor: Actor) -> None:
        self.engine = engine
        self.actor = actor
        self._choices: tuple[Choice, ...] = ()

    async def say(self, text: str) -> list[Reply]:
        stripped = text.strip()
        choice: Choice | None = None
        if stripped.isdigit() and 1 <= int(stripped) <= len(self._choices):
            choice = self._choices[int(stripped) - 1]
        msg = Incoming(
            actor=self.actor,
            conversation_id=f"console:{self.actor.email}",
            text=choice.label if choice else text,
            choice=choice.value if choice else None,
        )
        replies = await self.engine.handle(msg)
        offered = [r.choices for r in replies if r.choices]
        self._choices = offered[-1] if offered else ()
        return replies


def _decode(lines: Iterable[bytes]) -> Iterable[str]:
    for raw in lines:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def run_console(chat: ConsoleChat, stdin: TextIO, out: TextIO, banner: str) -> None:
    interactive = stdin.isatty()
    if interactive:
        out.write(banner + "\n")
        out.flush()
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                out.write("\n")
                return
            if text.strip().lower() in QUIT_WORDS:
                return
            await _exchange(chat, text, out)
    else:
        source: Iterable[str] = _decode(stdin.buffer) if hasattr(stdin, "buffer") else stdin
        for text in source:
            if text.strip().lower() in QUIT_WORDS:
                return
            await _exchange(chat, text, out, echo=True)


async def _exchange(chat: ConsoleChat, text: str, out: TextIO, echo: bool = False) -> None:
    if echo:
        shown = text if len(text) <= 200 else text[:200] + f"… ({len(text):,} characters)"
        out.write(f"you> {shown}\n")
    for reply in await chat.say(text):
        out.write(f"bot> {render(reply)}\n")
    out.write("\n")
    out.flush()
