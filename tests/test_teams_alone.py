"""A Teams-only deployment: the real `helpdesk serve` with `[teams]` and no Slack token
serves Teams alone (no `/slack/events`), its triage posts go to the Teams channel, and a
request during the shutdown drain is refused with 503 (Teams sends it again)."""

from __future__ import annotations

import signal
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.teams_standin import post_activity
from tests.test_teams import CHAN, LEE, TRIAGE, ServedTeams, _open_ticket, _text


@pytest.fixture
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTeams]:
    served = ServedTeams(tmp_path_factory.mktemp("teams-alone"), slack=False)
    yield served
    served.stop()


def _status(served: ServedTeams, text: str, sent: list[str] | None = None) -> int:
    """The HTTP status for a 1:1 message (its activity id added to `sent`); 0 once
    nothing listens."""
    activity = served.teams.message(CHAN, text)
    if sent is not None:
        sent.append(str(activity["id"]))
    try:
        return post_activity(served.url, activity, served.teams.mint())[0]
    except (urllib.error.URLError, ConnectionError):
        return 0


def test_teams_alone_serves_its_chat_and_its_triage_channel(alone: ServedTeams) -> None:
    assert "Teams: POST /api/messages" in "\n".join(alone.served.log)
    assert "Slack" not in "\n".join(alone.served.log[:3])
    slack = urllib.request.Request(alone.served.url, b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(slack, timeout=5)
    with missing.value:
        assert missing.value.code == 404  # no Slack route at all
    number = _open_ticket(alone, LEE, "the plotter on 12/F prints blank pages")
    post = alone.teams.wait_for(
        "create", where=lambda c: c.conversation == TRIAGE and f"HD-{number}" in _text(c)
    )[-1]
    assert "plotter" in _text(post)


def test_a_request_during_the_shutdown_drain_is_refused_with_503(alone: ServedTeams) -> None:
    with ThreadPoolExecutor(8) as pool:
        busy = list(pool.map(lambda n: _status(alone, f"wifi drops {n}"), range(40)))
    assert busy == [202] * 40
    alone.served.proc.send_signal(signal.SIGTERM)
    refused: list[str] = []
    for n in range(2000):
        status = _status(alone, f"late {n}", refused)
        if status == 202 and len(refused) == 1:
            refused.pop()  # arrived before the signal was handled: accepted, as it should be
            continue
        if status == 0:
            refused.pop()
            break
        assert status == 503, status
    assert alone.served.proc.wait(30) == 0
    assert refused, "no activity arrived during the drain"
    db = sqlite3.connect(alone.served.data_dir / "helpdesk.db")
    claimed = {str(row[0]) for row in db.execute("SELECT event_id FROM processed_events")}
    assert f"teams:{refused[0]}" not in claimed  # refused: nothing of it stored
    assert not claimed & {f"teams:{r}" for r in refused}
