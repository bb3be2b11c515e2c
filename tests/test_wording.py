"""What engineers and requesters read: internal notes and escalation reasons stay with
the engineers (checked on what the outbox actually delivers), people by their names, the
triage card speaks to engineers, and the log says an assignment is an assignment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.harness import BotHarness, text_of

REQUESTER = "chan.taiman@corp.example.com"
ENGINEER = "ho.kawai@corp.example.com"


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


def open_ticket(bot: BotHarness, text: str = "my monitor flickers all day") -> int:
    bot.say("talk to a human", user=REQUESTER)
    bot.say(text, user=REQUESTER)
    assert "I've opened ticket HD-" in text_of(bot.click("Open ticket", user=REQUESTER))
    return int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]


def to_requester(bot: BotHarness) -> list[str]:
    """Everything the outbox delivered to the requester (their DM or their email)."""
    return [
        json.dumps(m.payload, ensure_ascii=False)
        for m in bot.transport.sent
        if str(m.recipient) in (f"user:test:U-{REQUESTER}", f"email:{REQUESTER}")
    ]


def test_internal_notes_and_escalation_reasons_never_reach_the_requester(bot: BotHarness) -> None:
    number = open_ticket(bot)
    bot.deliver()  # the triage post, which the note's thread line answers
    bot.command(f"/helpdesk note HD-{number} user is on the watch list, be careful", user=ENGINEER)
    bot.command(f"/helpdesk escalate HD-{number} Network switch port flapping", user=ENGINEER)
    bot.deliver()
    told = to_requester(bot)
    assert any("passed to the Network team" in text for text in told)  # told where it went
    assert not any("watch list" in text or "flapping" in text for text in told)
    # and not in the ticket as they see it either
    shown = text_of(bot.command(f"/helpdesk show HD-{number}", user=REQUESTER))
    assert "flapping" not in shown and "watch list" not in shown
    # the engineers still have both, internal
    events = bot.rows(
        "SELECT kind, public FROM ticket_events WHERE ticket_id = ? AND body != ''", number
    )
    assert ("escalation", 0) in events and ("note", 0) in events
    # the triage thread has the note
    assert any("watch list" in str(m.payload.get("text")) for m in bot.transport.sent)


def test_requesters_see_engineers_by_name_not_email(bot: BotHarness) -> None:
    number = open_ticket(bot)
    bot.command(f"/helpdesk claim HD-{number}", user=ENGINEER)
    bot.command(f"/helpdesk reply HD-{number} can you restart it?", user=ENGINEER)
    bot.deliver()
    told = "\n".join(to_requester(bot))
    assert "Ho Ka Wai is working on your ticket" in told
    assert ENGINEER not in told
    shown = text_of(bot.command(f"/helpdesk show HD-{number}", user=REQUESTER))
    assert "Ho Ka Wai: can you restart it?" in shown and ENGINEER not in shown
    card = bot.command(f"/helpdesk show HD-{number}", user=REQUESTER)[-1]
    assert ("With", "Ho Ka Wai") in [tuple(f) for f in card.fields]


def test_triage_card_speaks_to_engineers(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.command(f"/helpdesk wait HD-{number} which monitor model?", user=ENGINEER)
    card = text_of(replies)
    assert "waiting on the requester" in card and "waiting for you" not in card
    queue = text_of(bot.command("/helpdesk queue", user=ENGINEER))
    assert "waiting on the requester" in queue and "waiting for you" not in queue
    bot.deliver()
    assert any("the clock waits for you" in text for text in to_requester(bot))


def test_tickets_show_logs_an_assignment_as_an_assignment(bot: BotHarness, tmp_path: Path) -> None:
    number = open_ticket(bot)
    bot.command(f"/helpdesk assign HD-{number} Network", user=ENGINEER)
    result = CliRunner().invoke(
        main, ["tickets", "show", str(number)], env={"HELPDESK_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assignment = next(line for line in lines if " assignment " in line)
    state = next(line for line in lines if " state " in line and "triaged" in line)
    assert '"team": "Network"' in assignment and '"to"' not in assignment
    assert '"from": "new", "to": "triaged"' in state and "Network" not in state
