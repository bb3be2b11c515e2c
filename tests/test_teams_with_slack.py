"""One process serving Slack and Teams together: a requester on Teams and an engineer on
Slack work one ticket. The real `helpdesk serve` with both adapters and no
`teams.triage_channel` (the desk's channels stay in Slack) against both stand-ins."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator

import pytest

from tests.test_slack import ENGINEER
from tests.test_teams import LEE, ServedTeams, _actions, _in_chat, _open_ticket, _text


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTeams]:
    served = ServedTeams(tmp_path_factory.mktemp("teams-with-slack"), triage="")
    yield served
    served.stop()


def test_a_teams_requester_and_a_slack_engineer_work_one_ticket(both: ServedTeams) -> None:
    slack, teams, served = both.served.slack, both.teams, both.served
    assert "Slack" in "\n".join(served.log) and "Teams: POST /api/messages" in "\n".join(served.log)
    number = _open_ticket(both, LEE, "the label printer in the mail room is offline")
    ref = f"HD-{number}"
    # the triage post is in Slack's triage channel, not in Teams
    post = slack.wait_for(
        "chat.postMessage",
        where=lambda c: ref in c.params.get("text", "") and "metadata" in c.params,
    )[-1]
    assert not [c for c in teams.called("create") if ref in _text(c)]
    # the engineer claims it in Slack: the post is redrawn with their name
    served.click(post.params, "Claim", user=ENGINEER)
    slack.wait_for(
        "chat.update",
        where=lambda c: ref in c.params.get("text", "") and "ho.kawai" in json.dumps(c.params),
    )
    # the engineer answers in the Slack thread: the requester reads it in their Teams chat
    served.event(
        {
            "type": "message",
            "channel": post.response["channel"],
            "channel_type": "channel",
            "user": ENGINEER,
            "text": "I have restarted its print spooler, try again",
            "ts": "1790006000.000100",
            "thread_ts": post.response["ts"],
        }
    )
    teams.wait_for("send", where=_in_chat(LEE, "restarted its print spooler"))
    # resolved from Slack: the requester hears it in Teams and rates it there
    served.command(f"resolve {ref} spooler restarted", user=ENGINEER)
    notice = teams.wait_for("send", where=_in_chat(LEE, "spooler restarted"))[-1]
    assert re.search(rf"{ref}\b", _text(notice))
    five = next(a for a in _actions(notice) if a["title"] == "5")
    assert both.send(teams.submit(LEE, five["data"], reply_to=notice.activity_id)) == 202
    db = sqlite3.connect(served.data_dir / "helpdesk.db")
    query = "SELECT state, requester_platform, csat_score FROM tickets WHERE id = ?"
    deadline = time.monotonic() + 10
    try:
        while (row := db.execute(query, (number,)).fetchone())[2] is None:
            assert time.monotonic() < deadline, row
            time.sleep(0.05)
        assert row == ("resolved", "teams", 5)
    finally:
        db.close()
