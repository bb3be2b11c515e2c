"""One renderer for every platform: a stored outbox message (`Outbound`) becomes a
`Delivery` — a `Reply` in the recipient's language, the recipient resolved, the thread and
the post to update named — that any transport can send.

What each kind becomes:

- `reply` (answers to a user's message, `bot.inbox`): the engine's `Reply` as stored; a
  secret's text from `HeldSecrets` (never the store). A secret lost in a restart becomes
  a private note that it could not be shown, and an audit record says so.
- `triage`: the ticket's view for engineers (`bot.tickets.triage`), updating its first
  post in place once there is one.
- `thread`, `sla`: one line in the ticket's triage thread (not due until the triage post
  is delivered); `page`: one line to whoever is on call.
- every other kind (`notice`, `handoff`, `security_alert`, approvals): the text the
  change rendered when it queued it (in its recipient's language then), with its choices;
  a handoff summary also carries its shift's chart.

Lines for engineers are in the desk's language (`reports.language`). A message to a person
of another platform (a ticket's requester who wrote from Teams, delivered by Slack) goes
to their email, so the delivering platform can find them there.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

from bot.clock import parse_iso
from bot.i18n import Translator
from bot.inbox.codec import reply as reply_of
from bot.inbox.held import HeldSecrets
from bot.messages import Choice, Lang, MessageRef, Recipient, Reply
from bot.outbox.transport import REPLY, Attachment, Delivery, Outbound
from bot.reports.chart import handoff_chart
from bot.reports.shift_handoff import build_handoff
from bot.services import Services
from bot.store.addresses import Addresses
from bot.store.audit import AuditEntry
from bot.store.message_links import MessageLinks
from bot.tickets.triage import triage_view

log = logging.getLogger(__name__)

LINES = ("thread", "sla", "page")
"""Kinds rendered as one catalogue line (`delivery.<kind>`) from their payload."""


class NotDueYet(LookupError):
    """The message cannot be rendered yet (its ticket's triage post is not delivered)."""


class Renderer:
    def __init__(
        self,
        services: Services,
        held: HeldSecrets | None = None,
        platforms: tuple[str, ...] = (),
    ):
        """`platforms`: those the transport delivers to (a person on another one is
        reached by email)."""
        self._services = services
        self._held = held or HeldSecrets()
        self._platforms = platforms
        self._links = MessageLinks(services.db.conn)
        self._addresses = Addresses(services.db.conn)

    @property
    def held(self) -> HeldSecrets:
        return self._held

    def _desk(self) -> Translator:
        lang = self._services.settings.reports.language
        return Translator("zh-Hant" if lang == "zh-Hant" else "en")

    async def render(self, message: Outbound) -> Delivery:
        """The message ready to send. Raises `NotDueYet` (tried again later)."""
        payload = message.payload
        recipient = self._recipient(message)
        if message.kind == REPLY:
            return Delivery(message, self._reply(message), recipient, route=payload["route"])
        address = self._address(recipient)
        update = MessageRef.parse(message.update_ref) if message.update_ref else None
        if message.kind == "triage":
            ticket = self._services.tickets.require(int(payload["ticket"]))
            view = triage_view(ticket, self._desk())
            return Delivery(message, view, recipient, update=update, address=address)
        if message.kind in LINES:
            fields = self._sla_fields(payload) if message.kind == "sla" else payload
            line = Reply(self._desk()(f"delivery.{message.kind}", **fields))
            thread = None
            if message.kind != "page":
                thread = self._links.triage_post(int(payload["ticket"]))
                if thread is None:
                    raise NotDueYet("the ticket's triage post is not delivered yet")
            return Delivery(message, line, recipient, thread=thread, address=address)
        choices = tuple(Choice(str(label), str(value)) for label, value in payload["choices"])
        reply = Reply(str(payload["text"]), choices=choices)
        attachment = None
        if message.kind == "handoff":
            attachment = await asyncio.to_thread(self._chart, payload)
        return Delivery(message, reply, recipient, attachment=attachment, address=address)

    def _sla_fields(self, payload: dict[str, Any]) -> dict[str, Any]:
        """An SLA alert as engineers read it: `response at risk`, due `2026-12-06 23:49 HKT`
        (the desk's time zone, as the handoff and the other engineer messages say it)."""
        t = self._desk()
        due = parse_iso(str(payload["due"])).astimezone(self._services.timezone)
        return {
            **payload,
            "kind": t(f"delivery.sla_{payload['kind']}"),
            "clock": t(f"delivery.sla_{payload['clock']}"),
            "due": f"{due:%Y-%m-%d %H:%M} {due:%Z}",
        }

    def delivered(self, message: Outbound) -> None:
        """After its delivery: a secret's text is no longer held."""
        self._held.drop(message.key)

    def _recipient(self, message: Outbound) -> Recipient:
        recipient = message.recipient
        if (
            recipient.kind == "person"
            and self._platforms
            and recipient.platform not in self._platforms
            and "ticket" in message.payload
        ):
            ticket = self._services.tickets.get(int(message.payload["ticket"]))
            if ticket is not None and ticket.requester_email:
                return Recipient.by_email(ticket.requester_email)
        return recipient

    def _address(self, recipient: Recipient) -> dict[str, str] | None:
        """The stored reference for a person (by user id, or by email on a platform the
        transport delivers to); None for a channel or someone who never wrote."""
        if recipient.kind == "person":
            return self._addresses.of_user(recipient.platform, recipient.address)
        if recipient.kind == "email":
            for platform in self._platforms:
                found = self._addresses.of_email(platform, recipient.address)
                if found is not None:
                    return found[1]
        return None

    def _reply(self, message: Outbound) -> Reply:
        payload = message.payload
        if not payload.get("secret"):
            return reply_of(payload["reply"])
        held = self._held.get(message.key)
        if held is not None:
            return held
        route: dict[str, Any] = payload["route"]
        self._services.audit.append(
            AuditEntry(
                actor_platform=message.recipient.platform,
                actor_id=str(route.get("user") or message.recipient.address),
                actor_directory_id=None,
                target=None,
                action="secret_delivery",
                verification="none",
                outcome="failed",
                reason="the secret was lost in a restart before it was posted",
            )
        )
        lang: Lang = "zh-Hant" if payload.get("lang") == "zh-Hant" else "en"
        return Reply(Translator(lang)("delivery.private_not_sent"), private=True)

    def _chart(self, payload: dict[str, Any]) -> Attachment | None:
        """The chart of the shift a handoff summary is about (None if it cannot be drawn)."""
        services = self._services
        rotation = services.settings.rotation
        try:
            shift = rotation.shift_at(str(payload["team"]), parse_iso(str(payload["start"])))
            summary = build_handoff(services, shift)
            with tempfile.TemporaryDirectory() as folder:
                path = handoff_chart(
                    summary, Path(folder) / "handoff.png", services.settings.reports.language
                )
                title = self._desk()("report.handoff.title")
                return Attachment("handoff.png", title, path.read_bytes())
        except (KeyError, ValueError, OSError) as exc:
            log.warning("handoff chart not drawn: %s", type(exc).__name__)
            return None
