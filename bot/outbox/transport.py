"""What passes between the outbox and a platform: the stored message (`Outbound`), the
same message rendered for sending (`Delivery`), and the `Transport` protocol each adapter
implements (Slack, Teams, the console, a test's recorder).

A transport only delivers what it is given: the text is rendered already
(`bot.outbox.render`), the recipient is typed, the thread and the post to update are
named. It raises `DeliveryFailed` when the platform refuses (the worker decides when to
try again) and answers `was_delivered` after a crash mid-send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.messages import MessageRef, Recipient, Reply

REPLY = "reply"
"""The kind of an outbox row that answers a user's message (written by `bot.inbox`)."""


class DeliveryFailed(Exception):
    """The platform refused a send. `retry_after`: seconds it asked us to wait (a 429);
    `permanent`: trying again cannot help (an unknown channel, a malformed message)."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class Outbound:
    """One stored outbox message. `update_ref` is set when it replaces an earlier post."""

    key: str
    kind: str
    recipient: Recipient
    payload: dict[str, Any]
    update_ref: str | None = None
    attempted_at: str | None = None
    """When a send that may have got through began (ISO UTC), for `was_delivered`."""


@dataclass(frozen=True)
class Attachment:
    """A file posted with a message (the handoff summary's chart), in its thread."""

    filename: str
    title: str
    data: bytes


@dataclass(frozen=True)
class Delivery:
    """An outbox message rendered for its platform to send.

    `reply` is what to show (in the recipient's language, the text in `bot.markup`);
    `recipient` who gets it (a person on another platform is already resolved to their
    email); `route` the adapter's own route for a reply to a user's message (where that
    message came from); `thread` the post to answer in (a ticket's triage thread);
    `update` the earlier post this one replaces in place; `attachment` a file to add in
    the post's thread; `address` how the platform reaches the person unprompted. A
    `reply.delete_after_s` marks a secret: DM only, deleted after.
    """

    message: Outbound
    reply: Reply
    recipient: Recipient
    route: Mapping[str, Any] | None = None
    thread: MessageRef | None = None
    update: MessageRef | None = None
    attachment: Attachment | None = None
    address: Mapping[str, str] | None = None
    """The recipient's stored conversation reference on the delivering platform, when
    the recipient is a person who wrote to the bot there (`bot.store.addresses`)."""

    @property
    def key(self) -> str:
        return self.message.key

    @property
    def kind(self) -> str:
        return self.message.kind


class Transport(Protocol):
    """How a platform delivers outbox messages (Slack, Teams, the console, a test)."""

    platform: str
    """The platform's name as `Actor.platform` spells it (`slack`, `teams`, `console`)."""

    async def deliver(self, delivery: Delivery) -> str:
        """Send it; return the platform's reference of the posted message (`MessageRef`
        as text for a post that can be updated, threaded or deleted)."""
        ...

    async def was_delivered(self, delivery: Delivery) -> bool:
        """After a crash mid-send: did this key reach the platform?"""
        ...

    async def delete(self, ref: MessageRef) -> None:
        """Delete a posted message (a secret whose time is up); one already gone is no
        error. Raises `DeliveryFailed` when the platform refuses (tried again later)."""
        ...
