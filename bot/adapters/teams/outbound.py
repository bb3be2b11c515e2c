"""Where a Teams reply goes (`Route`, stored with each message in the inbox), which
connector URL a proactive post uses (`ServiceUrl`), and how a channel thread is named
(`<channel>;messageid=<root>` ↔ `MessageRef(<channel>, <root>)`). Slack's `outbound`
holds the same for Slack (its `Where`, response URLs and stashed forms); Teams needs no
stash, as a form is inputs in the card itself (`blocks`). The connector URL is kept on the
adapter's `Shelf` (the store in `helpdesk serve`), so every replica posts to the one Teams
last named."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.adapters.base import MemoryShelf, Shelf
from bot.messages import MessageRef

THREAD = ";messageid="
CHANNEL_ID = re.compile(r"19:[^\s;/]+@thread\.[a-z0-9]+")
"""A Teams channel's id, as Teams names it (`19:…@thread.tacv2`, `…@thread.skype`)."""


@dataclass(frozen=True)
class Route:
    """Where a reply to an activity goes (stored with the message in the inbox)."""

    service_url: str
    conversation: str
    """The conversation the activity came in (a channel thread keeps its `;messageid=`)."""
    member: str
    tenant: str
    personal: bool = True
    aside: bool = False
    """For the sender alone (a click in a channel, a message in a channel thread): their
    1:1 chat."""
    lang: str = "en"
    card: str = ""
    """The clicked card's activity id in the 1:1 chat, redrawn with the choice."""
    label: str = ""


class ServiceUrl:
    """The connector URL Teams last named in a verified activity (shared by the listener
    and the transport, and by the replicas through the shelf); before any, the configured
    default. Proactive channel posts and deletions use it."""

    KEY = "teams:service_url"

    def __init__(self, default: str, shelf: Shelf | None = None) -> None:
        self._default = default
        self._shelf: Shelf = shelf or MemoryShelf()
        self._learnt = ""
        self._learnt_at = 0.0

    @property
    def current(self) -> str:
        return self._shelf.get(self.KEY) or self._default

    def learn(self, url: str) -> None:
        """The URL a verified activity named (written when it changed, and hourly so the
        shelf, which forgets after a week, keeps it)."""
        if url and (url != self._learnt or time.monotonic() - self._learnt_at > 3600):
            self._shelf.put(self.KEY, url)
            self._learnt, self._learnt_at = url, time.monotonic()


def thread_ref(conversation: str) -> MessageRef | None:
    """A channel thread's conversation id as the reference of its root post."""
    channel, marker, root = conversation.partition(THREAD)
    return MessageRef(channel, root) if marker and root else None


def in_thread(ref: MessageRef) -> str:
    return f"{ref.conversation}{THREAD}{ref.message}"
