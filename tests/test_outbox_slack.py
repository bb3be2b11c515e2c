"""The outbox through the real Slack transport against the Slack stand-in (issue #15):
`was_delivered` pages through a busy channel's history, and one failing row never holds
up the others."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter, SlackConfig
from bot.clock import iso
from bot.inbox import HeldSecrets
from bot.messages import Recipient
from bot.outbox.render import Renderer
from bot.outbox.worker import OutboxWorker
from bot.services import Services, build_services
from bot.store.database import transaction
from bot.store.outbox import Outbox
from tests.harness import FakeClock, make_settings
from tests.slack_standin import SlackStandIn

CHANNEL = "helpdesk-triage"


class Outboxed:
    """A store, a clock and the Slack stand-in; `deliver()` runs the worker once."""

    def __init__(self, tmp: Path) -> None:
        self.slack = SlackStandIn().start()
        self.clock = FakeClock(datetime.now(UTC))
        self.services: Services = build_services(make_settings(tmp), self.clock)
        self.outbox = Outbox(self.services.db, self.clock)

    def queue(
        self, key: str, kind: str = "notice", payload: dict[str, object] | None = None
    ) -> None:
        body = {"text": f"message {key}", "choices": []} if payload is None else payload
        assert self.outbox.put(key, kind, Recipient.channel(CHANNEL), body)

    def deliver(self) -> int:
        async def run() -> int:
            config = SlackConfig("xoxb-test", "secret", api_url=self.slack.api_url)
            async with aiohttp.ClientSession() as session:
                adapter = SlackAdapter(config, session)
                await adapter.check_token()
                transport = adapter.make_transport(session)
                renderer = Renderer(self.services, HeldSecrets(), "slack")
                worker = OutboxWorker(self.services.db, transport, renderer, self.clock)
                return await worker.run_once()

        return asyncio.run(run())

    def crashed_after_sending(self, key: str) -> None:
        """What a crash between the send and its bookkeeping leaves: a row still sending."""
        with transaction(self.services.db.conn) as conn:
            conn.execute(
                "UPDATE outbox SET delivered_at = NULL, sending_at = ? WHERE dedupe_key = ?",
                (iso(self.clock()), key),
            )

    def row(self, key: str) -> tuple[object, ...]:
        return tuple(
            self.services.db.conn.execute(
                "SELECT delivered_at IS NOT NULL, attempts, last_error, sending_at IS NOT NULL"
                " FROM outbox WHERE dedupe_key = ?",
                (key,),
            ).fetchone()
        )

    def posts(self, key: str) -> int:
        return len(
            [
                c
                for c in self.slack.called("chat.postMessage")
                if c.params.get("text") == f"message {key}"
            ]
        )


@pytest.fixture
def outboxed(tmp_path: Path) -> Iterator[Outboxed]:
    outboxed = Outboxed(tmp_path)
    yield outboxed
    outboxed.services.db.conn.close()
    outboxed.slack.stop()


def test_a_post_under_450_newer_messages_is_found_and_not_sent_again(outboxed: Outboxed) -> None:
    outboxed.queue("k1")
    assert outboxed.deliver() == 1
    outboxed.crashed_after_sending("k1")
    outboxed.slack.chatter(CHANNEL, 450)
    assert outboxed.deliver() == 1
    assert outboxed.posts("k1") == 1
    reads = outboxed.slack.called("conversations.history")
    assert [r.params.get("cursor") for r in reads] == [None, "200", "400"]
    assert all(float(r.params["oldest"]) < outboxed.clock().timestamp() for r in reads)
    assert outboxed.row("k1")[0] == 1


def test_a_post_older_than_the_send_is_not_read_at_all(outboxed: Outboxed) -> None:
    """History is read from shortly before the send began: a channel's past is skipped."""
    outboxed.queue("k1")
    outboxed.crashed_after_sending("k1")  # it never reached Slack
    outboxed.clock.advance(hours=1)
    outboxed.slack.chatter(CHANNEL, 5)  # posted an hour before the send below began
    outboxed.crashed_after_sending("k1")
    assert outboxed.deliver() == 1
    read = outboxed.slack.called("conversations.history")[-1]
    assert read.response["messages"] == []
    assert outboxed.posts("k1") == 1


def test_a_failing_history_read_retries_that_row_later_and_the_others_go_out(
    outboxed: Outboxed,
) -> None:
    outboxed.queue("k1")
    outboxed.crashed_after_sending("k1")  # maybe sent: the worker must ask Slack first
    outboxed.queue("k2")
    outboxed.queue("k3")
    outboxed.slack.fail_next("conversations.history", 500)
    assert outboxed.deliver() == 2
    assert (outboxed.posts("k2"), outboxed.posts("k3"), outboxed.posts("k1")) == (1, 1, 0)
    assert outboxed.row("k1") == (
        0,
        1,
        "conversations.history: internal_error",
        1,
    )  # still "maybe sent"
    assert outboxed.deliver() == 0  # backing off
    outboxed.clock.advance(seconds=6)
    assert outboxed.deliver() == 1
    assert outboxed.posts("k1") == 1 and outboxed.row("k1")[0] == 1


def test_a_row_that_cannot_be_sent_is_retried_with_backoff_behind_the_others(
    outboxed: Outboxed,
) -> None:
    outboxed.queue("broken", kind="thread", payload={"text": "no ticket named"})
    outboxed.queue("k2")
    outboxed.slack.fail_next("chat.postMessage", 500)
    outboxed.queue("k3")
    assert outboxed.deliver() == 1  # k2's post failed once, k3 went out
    assert outboxed.row("broken") == (0, 1, "KeyError", 0)
    assert outboxed.row("k2") == (0, 1, "chat.postMessage: internal_error", 0)
    assert outboxed.posts("k3") == 1
    outboxed.clock.advance(seconds=6)
    assert outboxed.deliver() == 1
    assert outboxed.row("broken")[1] == 2 and outboxed.row("k2")[0] == 1
    assert outboxed.posts("k2") == 2  # the refused call and the one that went out
