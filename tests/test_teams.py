"""Teams end to end: the real `helpdesk serve` process (Slack and Teams in one process)
against the Teams stand-in (Bot Connector, OpenID authority, token endpoint over TLS with
its own CA) and the Slack stand-in.

Activities go to `POST /api/messages` with tokens the stand-in's authority signs (or
forges); what the bot sent is read from the stand-in's record of connector calls.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ROOT
from tests.teams_standin import (
    APP_SECRET,
    OTHER_TENANT,
    TENANT_ID,
    Call,
    Member,
    TeamsStandIn,
    post_activity,
)
from tests.test_slack import ENGINEER, Served

CHAN = Member("29:chan", "aad-chan-0001", "chan.taiman@corp.example.com", "Chan Tai Man")
LEE = Member("29:lee", "aad-lee-0002", "lee.kachun@corp.example.com", "Lee Ka Chun", "zh-HK")
HO = Member("29:ho", "aad-ho-0003", "ho.kawai@corp.example.com", "Ho Ka Wai")
APP_ID = "00000000-0000-4000-8000-00000000b07a"
TRIAGE = "19:triage@thread.tacv2"


class ServedTeams:
    def __init__(
        self, tmp: Path, *, slack: bool = True, triage: str = TRIAGE, more_config: str = ""
    ) -> None:
        """`slack=False`: a Teams-only deployment (no SLACK_BOT_TOKEN); `triage=""`: the
        triage channel stays in Slack; `more_config`: TOML appended to the settings."""
        members = {"chan": CHAN, "lee": LEE, "ho": HO}
        self.teams = TeamsStandIn(tmp / "teams", members).start()
        config = (
            f'[directory]\ndemo_file = "{(ROOT / "data" / "demo-directory.json").as_posix()}"\n'
            f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n'
            "[teams]\n"
            f'app_id = "{APP_ID}"\n'
            f'tenant_id = "{TENANT_ID}"\n'
            f'openid_metadata_url = "{self.teams.metadata_url}"\n'
            f'token_url = "{self.teams.token_url}"\n'
            f'allowed_service_urls = ["{self.teams.service_url}"]\n'
            f'ca_file = "{self.teams.ca_file.as_posix()}"\n'
            f'triage_channel = "{triage}"\n' + more_config
        )
        # the engine in its own process whatever the machine's cores (what `auto` picks on
        # more than one): it builds the Teams transport and posts channel messages there too
        env = {"TEAMS_APP_PASSWORD": APP_SECRET, "HELPDESK_ENGINE_PROCESS": "1"}
        if not slack:
            env |= {"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""}
        self.served = Served(tmp, config_text=config, extra_env=env)
        self.url = self.served.url.replace("/slack/events", "/api/messages")
        assert "engine in its own process" in "\n".join(self.served.log)
        # the app added to the helpdesk team: the bot can post in its triage channel
        if triage:
            assert self.send(self.teams.team_install(HO, triage)) == 200

    def send(self, activity: dict[str, Any], token: str | None = "") -> int:
        return post_activity(self.url, activity, self.teams.mint() if token == "" else token)[0]

    def stop(self) -> None:
        self.served.stop()
        self.teams.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTeams]:
    served = ServedTeams(tmp_path_factory.mktemp("teams-serve"))
    yield served
    served.stop()


def _text(call: Call) -> str:
    return json.dumps(call.body, ensure_ascii=False)


def _in_chat(member: Member, needle: str):  # type: ignore[no-untyped-def]
    return lambda c: c.conversation == "a:1:" + member.id and needle in _text(c)


def _actions(call: Call) -> list[dict[str, Any]]:
    return [
        a
        for attachment in call.body.get("attachments", [])
        for a in attachment["content"].get("actions", [])
    ]


def test_a_question_in_the_chat_gets_an_adaptive_card_with_articles(served: ServedTeams) -> None:
    started = time.monotonic()
    status = served.send(served.teams.message(CHAN, "how do i add a printr on 25F"))
    assert status == 202 and time.monotonic() - started < 3
    sent = served.teams.wait_for("send", where=_in_chat(CHAN, "This solved it"))[-1]
    card = sent.body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["version"] == "1.5"
    assert "replyToId" not in sent.body  # a new message, not a reply to an old one
    assert sent.token.startswith("bf-")  # the bot's own token from the token endpoint
    typing = served.teams.wait_for("typing", where=lambda c: c.conversation == "a:1:" + CHAN.id)
    assert typing[0].body == {"type": "typing"}


def test_a_ticket_is_opened_from_the_chat_and_its_card_is_updated_after_the_click(
    served: ServedTeams,
) -> None:
    teams = served.teams
    served.send(teams.message(CHAN, "talk to a human"))
    teams.wait_for("send", where=_in_chat(CHAN, "what do you need help with"))
    served.send(teams.message(CHAN, "the plotter on 12/F prints blank pages"))
    proposal = teams.wait_for("send", where=_in_chat(CHAN, "plotter on 12/F"))[-1]
    button = next(a for a in _actions(proposal) if a["title"] == "Open ticket")
    click = teams.submit(CHAN, button["data"], reply_to=proposal.activity_id)
    assert served.send(click) == 202
    opened = teams.wait_for("send", where=_in_chat(CHAN, "HD-"))[-1]
    number = re.search(r"HD-(\d+)", _text(opened))
    assert number is not None
    updated = teams.wait_for("update", where=lambda c: c.activity_id == proposal.activity_id)
    assert "✓ Open ticket" in _text(updated[-1]) and not _actions(updated[-1])
    rows = sqlite3.connect(served.served.data_dir / "helpdesk.db").execute(
        "SELECT requester_platform, requester_email FROM tickets WHERE id = ?",
        (int(number.group(1)),),
    )
    assert rows.fetchall() == [("teams", CHAN.upn)]

    # an engineer on Slack replies on the ticket: the requester hears it in Teams
    served.served.command(f"reply HD-{number.group(1)} a new toner is on its way", user=ENGINEER)
    notice = teams.wait_for("send", where=_in_chat(CHAN, "toner is on its way"))
    assert notice


@pytest.mark.parametrize(
    "forgery",
    [
        "wrong_key",
        "wrong_audience",
        "other_tenant",
        "expired",
        "alg_none",
        "wrong_issuer",
        "no_token",
        "service_url",
    ],
)
def test_forged_requests_are_refused_and_nothing_runs(served: ServedTeams, forgery: str) -> None:
    teams = served.teams
    activity = teams.message(CHAN, f"how do i reset my password {forgery}")
    token: str | None = teams.mint()
    if forgery == "wrong_key":
        token = teams.mint(forged="wrong_key")
    elif forgery == "wrong_audience":
        token = teams.mint(audience="99999999-0000-4000-8000-000000000000")
    elif forgery == "other_tenant":
        activity["channelData"]["tenant"]["id"] = OTHER_TENANT
        activity["conversation"]["tenantId"] = OTHER_TENANT
    elif forgery == "expired":
        token = teams.mint(expires_in=-240)  # 4 minutes ago: the SDK's 300 s leeway let it in
    elif forgery == "alg_none":
        token = teams.mint(forged="none")
    elif forgery == "wrong_issuer":
        token = teams.mint(issuer="https://evil.example")
    elif forgery == "no_token":
        token = None
    elif forgery == "service_url":
        activity["serviceUrl"] = "https://evil.example/"
        token = teams.mint(service_url="https://evil.example/")
    before = len(teams.calls)
    assert served.send(activity, token) == 401
    time.sleep(0.5)
    assert teams.calls[before:] == []
    db = sqlite3.connect(served.served.data_dir / "helpdesk.db")
    seen = db.execute(
        "SELECT count(*) FROM processed_events WHERE event_id = ?", (f"teams:{activity['id']}",)
    ).fetchone()
    assert seen == (0,)


def test_a_body_that_is_no_activity_is_a_400(served: ServedTeams) -> None:
    request = urllib.request.Request(
        served.url,
        b"[1, 2",
        headers={"Authorization": "Bearer " + served.teams.mint()},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        with exc:
            assert exc.code == 400
    else:
        raise AssertionError("accepted a body that is no activity")


def test_installing_the_bot_sends_a_welcome_in_the_users_language(served: ServedTeams) -> None:
    assert served.send(served.teams.install(LEE)) == 200
    welcome = served.teams.wait_for("send", where=_in_chat(LEE, "IT helpdesk"))[-1]
    assert "呢度係 IT helpdesk" in _text(welcome)


def test_the_bots_own_activities_are_ignored(served: ServedTeams) -> None:
    activity = served.teams.message(CHAN, "an echo of myself")
    activity["from"] = {"id": activity["recipient"]["id"], "name": "Helpdesk"}
    before = len(served.teams.calls)
    assert served.send(activity) == 200
    time.sleep(0.5)
    assert served.teams.calls[before:] == []


def test_a_form_on_a_card_is_submitted_as_its_fields(served: ServedTeams) -> None:
    teams = served.teams
    served.send(teams.install(CHAN))
    welcome = teams.wait_for("send", where=_in_chat(CHAN, "Search help articles"))[-1]
    submit = next(a for a in _actions(welcome) if a["data"].get("hd") == "form")
    inputs = [
        item["id"]
        for item in welcome.body["attachments"][0]["content"]["body"]
        if item["type"].startswith("Input.")
    ]
    assert inputs == ["text"]
    before = len(teams.called("send"))
    data = {**submit["data"], "text": "how do i add a printr on 25F"}
    assert served.send(teams.submit(CHAN, data, reply_to=welcome.activity_id)) == 202
    answer = teams.wait_for("send", count=before + 1)[-1]
    assert "This solved it" in _text(answer)


def _open_ticket(served: ServedTeams, member: Member, summary: str) -> int:
    teams = served.teams
    served.send(teams.message(member, "talk to a human"))
    teams.wait_for("send", where=_in_chat(member, "what do you need help with"))
    served.send(teams.message(member, summary))
    proposal = teams.wait_for("send", where=_in_chat(member, summary))[-1]
    button = next(a for a in _actions(proposal) if a["title"] == "Open ticket")
    served.send(teams.submit(member, button["data"], reply_to=proposal.activity_id))
    opened = teams.wait_for("send", where=_in_chat(member, "HD-"))[-1]
    found = re.search(r"HD-(\d+)", _text(opened))
    assert found is not None
    return int(found.group(1))


def test_a_triage_post_in_a_teams_channel_is_claimed_and_its_thread_reaches_the_requester(
    served: ServedTeams,
) -> None:
    teams = served.teams
    number = _open_ticket(served, LEE, "the scanner on 9/F jams every page")
    post = teams.wait_for(
        "create", where=lambda c: c.conversation == TRIAGE and f"HD-{number}" in _text(c)
    )[-1]
    thread = f"{TRIAGE};messageid={post.activity_id}"
    actions = post.body["activity"]["attachments"][0]["content"]["actions"]
    claim = next(a for a in actions if a["title"] == "Claim")
    click = teams.submit(HO, claim["data"], reply_to=post.activity_id, thread=thread)
    assert served.send(click) == 202
    teams.wait_for(
        "update", where=lambda c: c.activity_id == post.activity_id and HO.upn in _text(c)
    )
    # an engineer @mentions the bot in the ticket's thread: a reply to the requester
    assert served.send(teams.mention(HO, "a new roller is on its way", thread=thread)) == 202
    teams.wait_for("send", where=_in_chat(LEE, "a new roller is on its way"))
    # what the bot says back to the engineer is for them alone: in their 1:1 chat
    teams.wait_for("send", where=_in_chat(HO, "reply done"))
    teams.wait_for("send", where=_in_chat(HO, "claim done"))
    in_thread = [c for c in teams.called("send") if c.conversation == thread]
    assert not [c for c in in_thread if "done" in _text(c)]


def test_a_command_picked_from_the_menu_is_that_command_for_engineers_only(
    served: ServedTeams,
) -> None:
    """The command menu sends the bare title (`queue`); typed `helpdesk queue` is a shared
    scenario (`tests/test_chat_scenarios.py`)."""
    teams = served.teams
    served.send(teams.message(CHAN, "queue"))
    teams.wait_for("send", where=_in_chat(CHAN, "that command is for the IT service desk"))
    seen = {c.activity_id for c in teams.called("send")}
    served.send(teams.message(HO, "queue"))
    answer = teams.wait_for(
        "send", where=lambda c: c.conversation == "a:1:" + HO.id and c.activity_id not in seen
    )[-1]
    assert "for the IT service desk" not in _text(answer)
    assert "queue" in _text(answer).lower()


def test_an_action_execute_invoke_is_answered_at_once_and_its_choice_runs(
    served: ServedTeams,
) -> None:
    teams = served.teams
    served.send(teams.message(CHAN, "how do i add a printr on 25F"))
    card = teams.wait_for("send", where=_in_chat(CHAN, "This solved it"))[-1]
    data = next(a for a in _actions(card) if a["title"] == "This solved it")["data"]
    status, body = post_activity(served.url, teams.execute(CHAN, data), teams.mint())
    assert status == 200 and json.loads(body)["statusCode"] == 200
    seen = {c.activity_id for c in teams.called("send")}
    teams.wait_for(
        "send", where=lambda c: c.conversation == "a:1:" + CHAN.id and c.activity_id not in seen
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a.pop("from"),
        lambda a: a.update(conversation=[1]),
        lambda a: a.update(channelData="x"),
        lambda a: a.update(value=[1, 2]),
        lambda a: a.update(type=None),
        lambda a: a.update(entities="x"),
        lambda a: a.update(id=None),
        lambda a: a.update(text={"a": 1}),
        lambda a: a["conversation"].update(id=None),
        lambda a: a.update(serviceUrl=7),
    ],
)
def test_malformed_activities_never_get_a_5xx(served: ServedTeams, mangle: Any) -> None:
    activity = served.teams.message(CHAN, "hello there")
    mangle(activity)
    status = served.send(activity)
    assert status in (200, 202, 400, 401), status
