"""A whole-bot harness: the real engine, a fresh SQLite store and the demo directory.

Tests read like a conversation: `bot.say("acc locked")` returns the replies, and
`bot.click(1)` answers the last numbered choice, as the console does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.config import Settings, parse_settings
from bot.engine import Engine
from bot.handlers import Handler, default_handlers
from bot.messages import Actor, Choice, Command, Incoming, MessageRef, Reply
from bot.outbox.render import Renderer
from bot.outbox.transport import Delivery, Outbound
from bot.outbox.worker import OutboxWorker
from bot.services import Services, build_services

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
DEFAULT_USER = "chan.taiman@corp.example.com"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 21, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def make_settings(
    data_dir: Path,
    extra_toml: str = "",
    kb_path: Path | None = None,
    backend: str = "demo",
    demo_file: Path | None = None,
    store_url: str | None = None,
) -> Settings:
    demo = demo_file or ROOT / "data" / "demo-directory.json"
    text = (
        f'[directory]\nbackend = "{backend}"\n'
        f'demo_file = "{demo.as_posix()}"\n'
        f'[kb]\npath = "{(kb_path or ROOT / "kb").as_posix()}"\n'
        f'drafts_path = "{(data_dir / "kb-drafts").as_posix()}"\n' + extra_toml
    )
    env = {"HELPDESK_DATA_DIR": str(data_dir)}
    if store_url:
        env["HELPDESK_STORE_URL"] = store_url
    return parse_settings(text, "test", env)


class RecordingTransport:
    """A transport that remembers what it delivered (the platform's side of the outbox).

    `fail` makes the next sends raise; `crash_after_send` raises after recording, as a
    process dying between the send and the bookkeeping would.
    """

    def __init__(self) -> None:
        self.sent: list[Outbound] = []
        self.deliveries: list[Delivery] = []
        self.deleted: list[MessageRef] = []
        self.fail = 0
        self.crash_after_send = False

    platform = "test"

    async def deliver(self, delivery: Delivery) -> str:
        message = delivery.message
        self.deliveries.append(delivery)
        if self.fail:
            self.fail -= 1
            raise ConnectionError("platform unreachable")
        self.sent.append(message)
        if self.crash_after_send:
            self.crash_after_send = False
            raise SystemExit("crash")
        return f"ref-{len(self.sent)}"

    async def was_delivered(self, delivery: Delivery) -> bool:
        return any(m.key == delivery.key for m in self.sent)

    async def delete(self, ref: MessageRef) -> None:
        self.deleted.append(ref)

    def texts(self, kind: str = "notice") -> list[str]:
        return [str(m.payload.get("text", "")) for m in self.sent if m.kind == kind]


class BotHarness:
    def __init__(
        self,
        data_dir: Path,
        *,
        user: str = DEFAULT_USER,
        extra_toml: str = "",
        clock: FakeClock | None = None,
        handlers: Sequence[Handler] | None = None,
        kb_path: Path | None = None,
        backend: str = "demo",
        env: Mapping[str, str] | None = None,
        demo_file: Path | None = None,
        store_url: str | None = None,
    ) -> None:
        self.kb_path = kb_path
        self.store_url = store_url
        self.demo_file = demo_file
        self.backend = backend
        self.env = env
        self.data_dir = data_dir
        self.extra_toml = extra_toml
        self.clock = clock or FakeClock()
        self.handlers = handlers
        self.user = user
        self.platform = "test"
        self.last_choices: tuple[Choice, ...] = ()
        self._last_user = user
        self.services: Services
        self.engine: Engine
        self.transport = RecordingTransport()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.start()

    def start(self) -> None:
        """(Re)start the bot on the same store: what a process restart does."""
        self.services = build_services(
            make_settings(
                self.data_dir,
                self.extra_toml,
                self.kb_path,
                self.backend,
                self.demo_file,
                self.store_url,
            ),
            self.clock,
            self.env,
        )
        self.engine = Engine(self.services, self.handlers or default_handlers())

    def restart(self) -> None:
        self.services.db.conn.close()
        self.start()

    def actor(self, email: str | None = None) -> Actor:
        email = email or self.user
        return Actor(platform=self.platform, user_id=f"U-{email}", email=email)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine: in `self.loop` when a test keeps one (clients that pool
        connections, as `helpdesk serve` does), else in a fresh loop."""
        if self.loop is not None:
            return self.loop.run_until_complete(coro)
        return asyncio.run(coro)

    def send(self, msg: Incoming) -> list[Reply]:
        replies = self.run(self.engine.handle(msg))
        offered = [r.choices for r in replies if r.choices]
        self.last_choices = offered[-1] if offered else ()
        return replies

    def say(
        self, text: str, *, user: str | None = None, event_id: str | None = None
    ) -> list[Reply]:
        self._last_user = user or self.user
        actor = self.actor(user)
        return self.send(
            Incoming(
                actor=actor,
                conversation_id=f"dm-{actor.email}",
                text=text,
                event_id=event_id,
                command=Command.typed(text),  # as every adapter does
            )
        )

    def click(self, label_or_number: int | str, *, user: str | None = None) -> list[Reply]:
        """Click one of the last choices, by number (1-based), by label or by value."""
        if isinstance(label_or_number, int):
            choice = self.last_choices[label_or_number - 1]
        elif label_or_number.startswith("@"):
            choice = Choice(label_or_number, label_or_number)
        else:
            choice = next(c for c in self.last_choices if c.label == label_or_number)
        actor = self.actor(user or self._last_user)
        return self.send(
            Incoming(
                actor=actor,
                conversation_id=f"dm-{actor.email}",
                text="",
                choice=choice.value,
            )
        )

    def labels(self) -> list[str]:
        return [c.label for c in self.last_choices]

    def deliver(self) -> list[Outbound]:
        """Run the outbox worker once; return what it delivered this time."""
        before = len(self.transport.sent)
        renderer = Renderer(self.services, platforms=(self.transport.platform,))
        worker = OutboxWorker(self.services.db, self.transport, renderer, self.clock)
        self.run(worker.run_once())
        return self.transport.sent[before:]

    def command(self, text: str, *, user: str | None = None) -> list[Reply]:
        return self.say(text, user=user)

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        return list(self.services.db.conn.execute(sql, params).fetchall())


def text_of(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)
