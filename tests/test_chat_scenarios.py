"""The conversations every chat platform must hold, written once and run on each: the real
`helpdesk serve` against the Slack stand-in and against the Teams stand-in (issue 19:
"the conversations the Slack e2e tests run, run again on Teams"). The `chat` fixture is
parametrised over the platforms (`tests/chat_platforms.py` says how each one is driven);
a scenario speaks only of people and what they see. What only one platform has (Slack's
signatures, response URLs, modals and Socket Mode; Teams' tokens, tenants and cards) stays
in `tests/test_slack.py` and `tests/test_teams.py`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.chat_platforms import ENGINEER_NAME, Chat, SlackChat, TeamsChat
from tests.test_slack import Served
from tests.test_teams import ServedTeams

PLATFORMS = ("slack", "teams")


@pytest.fixture(scope="module", params=PLATFORMS)
def chat(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chat]:
    tmp = tmp_path_factory.mktemp(f"chat-{request.param}")
    if request.param == "slack":
        served = Served(tmp)
        yield SlackChat(served)
    else:
        served = ServedTeams(tmp)
        yield TeamsChat(served)
    served.stop()


def open_ticket(chat: Chat, who: str, summary: str) -> str:
    """Ask for a person, describe it, click "Open ticket": the ticket's reference."""
    since = chat.mark()
    chat.say(who, "talk to a human")
    chat.to(who, "what do you need help with", since=since)
    since = chat.mark()
    chat.say(who, summary)
    proposal = chat.to(who, summary, since=since)[-1]
    assert "Open ticket" in proposal.buttons
    assert chat.click(who, proposal, "Open ticket") == chat.accepted
    opened = chat.to(who, "HD-", since=chat.mark() - 1)[-1]
    found = re.search(r"HD-\d+", opened.text)
    assert found is not None, opened.text
    return found.group(0)


def test_a_question_in_the_chat_gets_articles_with_buttons(chat: Chat) -> None:
    since = chat.mark()
    started = time.monotonic()
    # a question with nothing to do with the account (its lock would come first)
    assert chat.say("requester", "how do i add a printr on 25F") == [chat.accepted]
    assert time.monotonic() - started < 3  # acknowledged before the turn runs
    answer = chat.to("requester", "This solved it", since=since)[-1]
    assert "This solved it" in answer.buttons
    assert "print" in answer.text.lower()


def test_a_mention_in_a_channel_is_answered_in_its_thread(chat: Chat) -> None:
    answer = chat.mention("requester", "vpn keeps disconnecting")
    assert "<@UHELPBOT>" not in answer.text and "<at>" not in answer.text
    assert "vpn" in answer.text.lower()


def test_help_is_answered_privately(chat: Chat) -> None:
    answer = chat.command("requester", "help")
    assert "/helpdesk" in answer.text and "new" in answer.text


def test_engineer_commands_are_refused_to_requesters_and_work_for_engineers(chat: Chat) -> None:
    refused = chat.command("requester", "queue")
    assert "that command is for the IT service desk" in refused.text
    answer = chat.command("engineer", "queue")
    assert "for the IT service desk" not in answer.text
    assert "queue" in answer.text.lower()


def test_the_home_screen_offers_the_quick_actions(chat: Chat) -> None:
    home = chat.home("requester")
    for label in ("My account is locked", "Talk to a person"):
        assert label in home.buttons, (label, home.buttons)
    # Slack: a button opening the search; Teams: the search box in the card itself
    assert any(label.startswith("Search") for label in home.buttons), home.buttons
    engineer = chat.home("engineer")
    assert re.search(r"Queue: \d+ unassigned · \d+ assigned to you", engineer.text)


def test_the_same_message_delivered_four_times_at_once_gets_one_reply(chat: Chat) -> None:
    since = chat.mark()
    statuses = chat.say("requester", "how do i map the shared drive", times=4)
    assert set(statuses) == {chat.accepted}
    chat.to("requester", "This solved it", since=since)
    time.sleep(0.7)
    assert len(chat.to("requester", "This solved it", since=since)) == 1


def test_a_429_is_retried_after_its_retry_after(chat: Chat) -> None:
    chat.fail_next_send(429, retry_after=1)
    since = chat.mark()
    started = time.monotonic()
    chat.say("requester", "wifi not working")
    answer = chat.to("requester", "This solved it", since=since)[-1]
    assert answer.at - started >= 1.0


def test_a_ticket_from_the_chat_is_claimed_in_triage_and_its_thread_reaches_the_requester(
    chat: Chat,
) -> None:
    ref = open_ticket(chat, "requester", "the scanner on 9/F jams every page")
    post = chat.triage(ref)
    assert "the scanner on 9/F jams every page" in post.text
    assert {"Claim", "Resolve"} <= set(post.buttons)
    assert chat.click("engineer", post, "Claim") == chat.accepted
    chat.triage(ref, updated_with=ENGINEER_NAME)
    since = chat.mark()
    assert chat.in_triage_thread("engineer", post, "a new roller is on its way") == chat.accepted
    notice = chat.to("requester", "a new roller is on its way", since=since)[-1]
    assert ref in notice.text
