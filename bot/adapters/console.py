"""The console adapter: chat with the full engine in a terminal.

Interactive when stdin is a terminal (a `you>` prompt); otherwise it reads one
message per line and prints the replies, so it can be scripted and tested.
Choices are numbered: answering with the number clicks that choice.

Identity: `--as EMAIL` is trusted as the verified email because the console is a
local tool over the demo directory; `helpdesk chat` refuses any other directory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TextIO

from bot.chat_numbers import whole_number
from bot.i18n import Translator
from bot.markup import to_plain
from bot.messages import Actor, Choice, Command, Incoming, MessageRef, Reply
from bot.outbox.transport import Delivery

QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", "bye!"})


def render(reply: Reply) -> str:
    """A reply as terminal text (`bot.markup` as plain text), article cards, numbered
    choices."""
    lines = [to_plain(reply.text)]
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


class ConsoleTransport:
    """Delivers outbox messages to the terminal: notices, triage posts, alerts, pages,
    rendered by the outbox's renderer like every platform's.

    Each line names its recipient (`[to #helpdesk-triage]`). A terminal cannot be
    asked what it printed before a crash, so `was_delivered` says no: at worst a
    line is printed twice after a crash mid-print, which the console can afford.
    """

    platform = "console"

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._posts = 0

    async def deliver(self, delivery: Delivery) -> str:
        recipient = delivery.recipient
        to = "#" + recipient.address if recipient.kind == "channel" else recipient.address
        text = render(delivery.reply)
        if delivery.kind == "triage":
            verb = "updated" if delivery.update else "posted"
            text = Translator("en")(f"delivery.triage_{verb}") + " " + text
        self._out.write(f"[to {to}] {text}\n")
        self._posts += 1
        return f"console/{self._posts}"

    async def was_delivered(self, delivery: Delivery) -> bool:
        return False

    async def delete(self, ref: MessageRef) -> None:
        """A terminal cannot take a line back (the console shows no secrets' deletion)."""


Handle = Callable[[Incoming], Awaitable[list[Reply]]]
"""The engine's answer to one message (`Engine.handle`)."""


class ConsoleChat:
    """One person chatting with the engine; remembers the last choices offered.

    After each message it runs `background`: what `helpdesk serve` runs in the background
    (the SLA scan and one pass of the outbox worker, whose deliveries print through
    `ConsoleTransport`), given by the CLI, which builds the engine and the outbox.
    """

    def __init__(
        self,
        handle: Handle,
        actor: Actor,
        background: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._handle = handle
        self.actor = actor
        self._background = background
        self._choices: tuple[Choice, ...] = ()

    async def background(self) -> None:
        if self._background is not None:
            await self._background()

    async def say(self, text: str) -> list[Reply]:
        stripped = text.strip()
        choice: Choice | None = None
        number = whole_number(stripped, 1, len(self._choices))
        if number is not None:
            choice = self._choices[number - 1]
        msg = Incoming(
            actor=self.actor,
            conversation_id=f"console:{self.actor.email}",
            text=choice.label if choice else text,
            choice=choice.value if choice else None,
            command=None if choice else Command.typed(text),
        )
        replies = await self._handle(msg)
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
    await chat.background()
    out.write("\n")
    out.flush()
