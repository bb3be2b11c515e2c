"""A person's address on their platform (a Teams conversation reference, a Slack DM) is
stored with the message that carried it, in the inbox's commit, and handed to the
transport with a later message for them: by their user id or by their email."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.inbox import HeldSecrets, Inbox
from bot.messages import Actor, Incoming, Recipient
from bot.outbox.render import Renderer
from bot.outbox.transport import Outbound
from bot.store.addresses import Addresses
from tests.harness import BotHarness

REFERENCE = {
    "service_url": "https://smba.trafficmanager.net/apac/",
    "conversation": "a:1x9",
    "tenant": "t-1",
}
EMAIL = "chan.taiman@corp.example.com"


def _accept(bot: BotHarness, msg: Incoming) -> bool:
    services = bot.services

    async def run() -> bool:
        inbox = Inbox(
            services.db,
            services.conversations,
            services.tickets,
            HeldSecrets(),
            lambda _: None,
            services.clock,
        )
        inbox.start()
        try:
            return await inbox.accept(msg, {"conversation": "a:1x9"})
        finally:
            await inbox.close()

    return asyncio.run(run())


def _address(bot: BotHarness, to: Recipient) -> object:
    notice = Outbound("notice:1", "notice", to, {"text": "Your ticket moved", "choices": []})
    delivery = asyncio.run(Renderer(bot.services, platforms=("teams",)).render(notice))
    return delivery.address


def test_an_address_is_stored_with_its_message_and_given_to_later_deliveries(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    actor = Actor("teams", "29:user", EMAIL)
    msg = Incoming(actor, "a:1x9", "vpn drops", event_id="act-1", address=REFERENCE)
    assert _accept(bot, msg)
    assert Addresses(bot.services.db.conn).of_user("teams", "29:user") == REFERENCE
    assert _address(bot, Recipient.person("teams", "29:user")) == REFERENCE
    assert _address(bot, Recipient.by_email(EMAIL)) == REFERENCE
    # someone who never wrote, and a channel, have none
    assert _address(bot, Recipient.person("teams", "29:other")) is None
    assert _address(bot, Recipient.channel("helpdesk-triage")) is None


def test_a_newer_address_replaces_the_older_and_a_redelivery_changes_nothing(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    actor = Actor("teams", "29:user", EMAIL)
    moved = {**REFERENCE, "service_url": "https://smba.trafficmanager.net/emea/"}
    assert _accept(bot, Incoming(actor, "a:1x9", "hi", event_id="act-1", address=REFERENCE))
    assert _accept(bot, Incoming(actor, "a:1x9", "hi", event_id="act-2", address=moved))
    assert not _accept(bot, Incoming(actor, "a:1x9", "hi", event_id="act-1", address=REFERENCE))
    assert _address(bot, Recipient.person("teams", "29:user")) == moved
