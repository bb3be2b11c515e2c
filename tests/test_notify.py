"""The outbox worker: retries with backoff, survives crashes, never delivers twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.outbox.render import Renderer
from bot.outbox.worker import OutboxWorker
from tests.harness import BotHarness

ENGINEER = "ho.kawai@corp.example.com"


def open_and_reply(bot: BotHarness) -> int:
    bot.say("talk to a human")
    bot.say("my dock does not charge the laptop")
    bot.click("Open ticket")
    number = int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]
    bot.say(f"/helpdesk reply HD-{number} which dock model is it?", user=ENGINEER)
    return number


def test_a_crash_after_commit_still_delivers_once_after_restart(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    open_and_reply(bot)
    # the process dies here: changes committed, nothing sent yet
    bot.restart()
    first = bot.deliver()
    assert sorted(m.kind for m in first) == ["notice", "triage"]
    assert bot.deliver() == []
    bot.restart()
    assert bot.deliver() == []
    assert len(bot.transport.texts()) == 1


def test_a_crash_between_send_and_bookkeeping_is_not_sent_again(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    open_and_reply(bot)
    bot.transport.crash_after_send = True
    with pytest.raises(SystemExit):
        bot.deliver()
    assert len(bot.transport.sent) == 1  # it reached the platform, the row says "sending"
    bot.restart()
    bot.deliver()
    keys = [m.key for m in bot.transport.sent]
    assert len(keys) == len(set(keys)) == 2
    assert bot.rows("SELECT count(*) FROM outbox WHERE delivered_at IS NULL") == [(0,)]


def test_failures_are_retried_with_backoff(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    open_and_reply(bot)
    bot.transport.fail = 2
    assert bot.deliver() == []  # both messages fail once
    assert bot.rows("SELECT attempts, last_error FROM outbox WHERE delivered_at IS NULL") == [
        (1, "ConnectionError"),
        (1, "ConnectionError"),
    ]
    assert bot.deliver() == []  # not due yet: backoff
    bot.clock.advance(seconds=6)
    assert len(bot.deliver()) == 2
    assert bot.deliver() == []


def test_only_the_newest_triage_view_is_posted_and_then_updated_in_place(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    number = open_and_reply(bot)
    bot.say(f"/helpdesk claim HD-{number}", user=ENGINEER)
    triage = [m for m in bot.deliver() if m.kind == "triage"]
    assert len(triage) == 1 and triage[0].payload["version"] == 3 and triage[0].update_ref is None
    bot.say(f"/helpdesk priority HD-{number} P2", user=ENGINEER)
    update = [m for m in bot.deliver() if m.kind == "triage"]
    assert len(update) == 1 and update[0].update_ref is not None
    rows = bot.rows("SELECT ticket_id, version FROM triage_posts")
    assert rows == [(number, 4)]


def test_worker_run_once_is_safe_on_an_empty_outbox(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    worker = OutboxWorker(bot.services.db, bot.transport, Renderer(bot.services), bot.clock)
    assert asyncio.run(worker.run_once()) == 0
