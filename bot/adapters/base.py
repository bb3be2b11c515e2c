"""What every platform adapter is to the rest of the bot, and what the bot offers it.

An adapter does four things (ARCHITECTURE.md): it mounts its routes on the shared server,
verifies and translates inbound payloads into `Incoming`s handed to `Core.accept`, renders
a `Reply` for its platform, and delivers to a typed `Recipient` through its `transport`.
No SQL, no audit, no reports, no routing decisions, no user-facing strings of its own.

The server (`bot.server`) mounts each adapter's `sub_app()` at its `mount`
path (Slack at `/slack`, so `POST /slack/events`; Teams at `/api`, so
`POST /api/messages`), calls `start(core)` before serving and `stop_accepting()` first
at shutdown (then requests are answered 503 so the platform sends them again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from bot.messages import Incoming, Reply
from bot.outbox.transport import Transport


class Shelf(Protocol):
    """Small values an adapter keeps from one request to a later one (a form waiting behind
    a button, a card's text to redraw it with a choice, the connector URL), by key. In
    `helpdesk serve` it is the store (`bot.store.shelf.StoreShelf`), so the later request
    may reach any replica; alone in a test, `MemoryShelf`."""

    def put(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...

    def take(self, key: str) -> str | None:
        """The value, gone from the shelf."""
        ...


class MemoryShelf:
    """The newest `size` values in this process's memory (lost at a restart)."""

    def __init__(self, size: int = 2000) -> None:
        self._values: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def put(self, key: str, value: str) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self._size:
            self._values.popitem(last=False)

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def take(self, key: str) -> str | None:
        return self._values.pop(key, None)


class Core(Protocol):
    """The bot as an adapter sees it."""

    async def accept(self, msg: Incoming, route: Mapping[str, Any]) -> bool:
        """Store `msg` durably with its dedupe claim before the adapter acknowledges it;
        False for a redelivery (acknowledge, nothing stored). `route` is the adapter's
        own note of where replies go (JSON-able), given back with each reply's `Delivery`.
        Raises when it could not be stored: the adapter must then not acknowledge."""
        ...

    async def home(self, msg: Incoming) -> Reply | None:
        """The actor's home screen (a Slack App Home tab, Teams' welcome card); None for a
        redelivered event. The `msg.address` it may carry (a Teams install) is stored, so
        the person can be reached before they ever wrote."""
        ...


class Adapter(Protocol):
    platform: str
    """As `Actor.platform` spells it (`slack`, `teams`)."""
    mount: str
    """Where its sub-application is mounted on the shared server (`/slack`, `/api`)."""

    def make_transport(self, session: aiohttp.ClientSession) -> Transport:
        """How the outbox delivers to this platform, on `session` (the outbox runs on its
        own event loop, so its transport has its own clients there)."""
        ...

    async def start(self, core: Core) -> None:
        """Check the credentials and learn the bot's own identity (raise `ConfigError`),
        connect what the platform pushes through (Slack Socket Mode)."""
        ...

    def sub_app(self) -> web.Application:
        """The routes it serves, relative to `mount`."""
        ...

    async def stop_accepting(self) -> None:
        """From now on refuse requests (503) and close sockets: shutdown has begun."""
        ...

    def describe(self) -> str:
        """One line for the start-up message (its routes, its workspace or tenant)."""
        ...
