"""The chat platforms as the shared e2e scenarios drive them (`tests/chat_scenarios.py`).

One `Chat` per platform, each over the real `helpdesk serve` and that platform's stand-in:
`SlackChat` (signed events, slash commands, clicks to `/slack/events`; what the bot did
from the Slack stand-in's Web API record) and `TeamsChat` (activities with tokens the
stand-in's authority signs to `/api/messages`; what the bot did from the connector's
record). A scenario speaks of people ("requester", "engineer") and of what they see; each
driver says how that is done on its platform: a private answer is Slack's response URL and
Teams' 1:1 chat, the home screen is Slack's App Home and Teams' welcome card, a message
in a channel thread is @mention-free in Slack and @mentions the bot in Teams.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from tests import slack_standin, teams_standin
from tests.teams_standin import Member, post_activity
from tests.test_slack import DM, ENGINEER, REQUESTER, Served
from tests.test_teams import CHAN, HO, TRIAGE, ServedTeams

ENGINEER_NAME = "ho.kawai"
SLACK_TRIAGE = "helpdesk-triage"


@dataclass(frozen=True)
class Posted:
    """A message the bot sent, as a person sees it: everything shown (as JSON text), its
    buttons, when the stand-in got it, and the stand-in's record (for a click)."""

    where: str
    text: str
    buttons: tuple[str, ...]
    at: float
    raw: Any


class Chat(Protocol):
    platform: str
    accepted: int
    """The HTTP status of a message taken in (Slack's 200, Teams' 202)."""

    def mark(self) -> int:
        """How many calls the stand-in has seen: `since` for the waits below."""
        ...

    def say(self, who: str, text: str, *, times: int = 1) -> list[int]:
        """A message to the bot in the person's DM / 1:1 chat (`times` > 1: the same
        event delivered that often at once); the HTTP statuses."""
        ...

    def to(self, who: str, needle: str, *, since: int = 0, count: int = 1) -> list[Posted]:
        """Wait for `count` messages in the person's DM / 1:1 chat showing `needle`."""
        ...

    def click(self, who: str, posted: Posted, label: str) -> int: ...

    def command(self, who: str, words: str) -> Posted:
        """`/helpdesk <words>` and its private answer."""
        ...

    def home(self, who: str) -> Posted:
        """The home screen (Slack's App Home, Teams' welcome card on install)."""
        ...

    def mention(self, who: str, text: str) -> Posted:
        """An @mention of the bot in a channel, and the answer in its thread."""
        ...

    def triage(self, needle: str, *, updated_with: str = "") -> Posted:
        """The ticket's triage post in the desk's channel (redrawn to show `updated_with`)."""
        ...

    def in_triage_thread(self, who: str, post: Posted, text: str) -> int: ...

    def fail_next_send(self, status: int, retry_after: int) -> None: ...


class SlackChat:
    platform = "slack"
    accepted = 200

    def __init__(self, served: Served) -> None:
        self.served = served
        self.slack = served.slack
        self._ids = {"requester": REQUESTER, "engineer": ENGINEER}

    @staticmethod
    def _posted(call: slack_standin.Call) -> Posted:
        params = call.params
        buttons = tuple(
            e["text"]["text"]
            for b in params.get("blocks", []) + params.get("view", {}).get("blocks", [])
            for e in b.get("elements", [])
            if e.get("type") == "button"
        )
        where = str(params.get("channel") or params.get("user_id") or "")
        return Posted(where, json.dumps(params, ensure_ascii=False), buttons, call.at, call)

    def mark(self) -> int:
        return len(self.slack.calls)

    def say(self, who: str, text: str, *, times: int = 1) -> list[int]:
        user = self._ids[who]
        self.served._n += 1
        event = {
            "type": "message",
            "channel": "D" + user.lstrip("U"),
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": f"1790009000.{self.served._n:06d}",
        }
        event_id = self.served.next_id()
        with ThreadPoolExecutor(times) as pool:
            return list(pool.map(lambda _: self.served.event(event, event_id)[0], range(times)))

    def to(self, who: str, needle: str, *, since: int = 0, count: int = 1) -> list[Posted]:
        dm = "D" + self._ids[who].lstrip("U")
        calls = self.slack.wait_for(
            "chat.postMessage",
            count,
            where=lambda c: (
                c in self.slack.calls[since:]
                and bool(c.response)  # delivered (a refused post has no answer)
                and c.params.get("channel") == dm
                and needle in json.dumps(c.params, ensure_ascii=False)
            ),
        )
        return [self._posted(c) for c in calls]

    def click(self, who: str, posted: Posted, label: str) -> int:
        return self.served.click(posted.raw.params, label, user=self._ids[who])[0]

    def command(self, who: str, words: str) -> Posted:
        since = self.mark()
        self.served.command(words, user=self._ids[who])
        answer = self.slack.wait_for("response_url", where=lambda c: c in self.slack.calls[since:])
        assert answer[-1].params["response_type"] == "ephemeral"
        return self._posted(answer[-1])

    def home(self, who: str) -> Posted:
        user = self._ids[who]
        since = self.mark()
        event = {"type": "app_home_opened", "user": user, "channel": DM, "tab": "home"}
        self.served.event(event)
        views = self.slack.wait_for(
            "views.publish",
            where=lambda c: c in self.slack.calls[since:] and c.params["user_id"] == user,
        )
        return self._posted(views[-1])

    def mention(self, who: str, text: str) -> Posted:
        self.served._n += 1
        ts = f"1790008000.{self.served._n:06d}"
        event = {
            "type": "app_mention",
            "channel": "CGENERAL",
            "user": self._ids[who],
            "text": f"<@UHELPBOT> {text}",
            "ts": ts,
        }
        self.served.event(event)
        calls = self.slack.wait_for(
            "chat.postMessage",
            where=lambda c: (
                c.params.get("channel") == "CGENERAL" and c.params.get("thread_ts") == ts
            ),
        )
        return self._posted(calls[-1])

    def triage(self, needle: str, *, updated_with: str = "") -> Posted:
        def post(c: slack_standin.Call) -> bool:
            return (
                c.params.get("channel") == SLACK_TRIAGE
                and "thread_ts" not in c.params
                and needle in c.params.get("text", "")
            )

        found = self.slack.wait_for("chat.postMessage", where=post)
        if updated_with:
            found = self.slack.wait_for(
                "chat.update",
                where=lambda c: (
                    needle in c.params.get("text", "") and updated_with in json.dumps(c.params)
                ),
            )
        return self._posted(found[-1])

    def in_triage_thread(self, who: str, post: Posted, text: str) -> int:
        self.served._n += 1
        event = {
            "type": "message",
            "channel": post.raw.response["channel"],
            "channel_type": "channel",
            "user": self._ids[who],
            "text": text,
            "ts": f"1790007000.{self.served._n:06d}",
            "thread_ts": post.raw.response["ts"],
        }
        return self.served.event(event)[0]

    def fail_next_send(self, status: int, retry_after: int) -> None:
        self.slack.fail_next("chat.postMessage", status, retry_after=retry_after)


class TeamsChat:
    platform = "teams"
    accepted = 202

    def __init__(self, served: ServedTeams) -> None:
        self.served = served
        self.teams = served.teams
        self._members: dict[str, Member] = {"requester": CHAN, "engineer": HO}

    @staticmethod
    def _posted(call: teams_standin.Call) -> Posted:
        body = call.body.get("activity", call.body)  # a new channel thread wraps its first post
        buttons = tuple(
            str(a["title"])
            for attachment in body.get("attachments", [])
            for a in attachment.get("content", {}).get("actions", [])
        )
        text = json.dumps(call.body, ensure_ascii=False)
        return Posted(call.conversation, text, buttons, call.at, call)

    def _chat(self, who: str) -> str:
        return "a:1:" + self._members[who].id

    def mark(self) -> int:
        return len(self.teams.calls)

    def _send(self, activity: dict[str, Any]) -> int:
        return post_activity(self.served.url, activity, self.teams.mint())[0]

    def say(self, who: str, text: str, *, times: int = 1) -> list[int]:
        activity = self.teams.message(self._members[who], text)
        with ThreadPoolExecutor(times) as pool:
            return list(pool.map(lambda _: self._send(activity), range(times)))

    def to(self, who: str, needle: str, *, since: int = 0, count: int = 1) -> list[Posted]:
        chat = self._chat(who)
        calls = self.teams.wait_for(
            "send",
            count=count,
            where=lambda c: (
                c in self.teams.calls[since:]
                and c.conversation == chat
                and needle in json.dumps(c.body, ensure_ascii=False)
            ),
        )
        return [self._posted(c) for c in calls]

    def click(self, who: str, posted: Posted, label: str) -> int:
        call = posted.raw
        body = call.body.get("activity", call.body)
        actions = [
            a
            for attachment in body.get("attachments", [])
            for a in attachment.get("content", {}).get("actions", [])
        ]
        data = next(a["data"] for a in actions if a["title"] == label)
        thread = None
        if call.method == "create":  # a channel post: the click comes from its thread
            thread = f"{call.conversation};messageid={call.activity_id}"
        member = self._members[who]
        return self._send(self.teams.submit(member, data, reply_to=call.activity_id, thread=thread))

    def command(self, who: str, words: str) -> Posted:
        """Typed in a channel as an @mention (`@Helpdesk helpdesk queue`, as Slack's slash
        command comes from a channel): the answer is for that person alone, so it goes to
        their 1:1 chat and the channel thread gets only a note saying so."""
        since = self.mark()
        activity = self.teams.mention(self._members[who], f"helpdesk {words}")
        self._send(activity)
        chat, thread = self._chat(who), str(activity["conversation"]["id"])
        answer = self.teams.wait_for(
            "send", where=lambda c: c in self.teams.calls[since:] and c.conversation == chat
        )[-1]
        in_channel = self.teams.wait_for("send", where=lambda c: c.conversation == thread)
        said = [json.dumps(c.body, ensure_ascii=False) for c in in_channel]
        assert all("in our one-to-one chat" in text for text in said), said
        return self._posted(answer)

    def home(self, who: str) -> Posted:
        since = self.mark()
        assert self._send(self.teams.install(self._members[who])) == 200
        chat = self._chat(who)
        welcome = self.teams.wait_for(
            "send", where=lambda c: c in self.teams.calls[since:] and c.conversation == chat
        )
        return self._posted(welcome[-1])

    def mention(self, who: str, text: str) -> Posted:
        activity = self.teams.mention(self._members[who], text)
        self._send(activity)
        thread = str(activity["conversation"]["id"])
        return self._posted(
            self.teams.wait_for("send", where=lambda c: c.conversation == thread)[-1]
        )

    def triage(self, needle: str, *, updated_with: str = "") -> Posted:
        post = self.teams.wait_for(
            "create",
            where=lambda c: c.conversation == TRIAGE and needle in json.dumps(c.body),
        )[-1]
        if updated_with:
            update = self.teams.wait_for(
                "update",
                where=lambda c: (
                    c.activity_id == post.activity_id and updated_with in json.dumps(c.body)
                ),
            )[-1]
            return self._posted(update)
        return self._posted(post)

    def in_triage_thread(self, who: str, post: Posted, text: str) -> int:
        root = post.raw.activity_id
        thread = f"{TRIAGE};messageid={root}"
        return self._send(self.teams.mention(self._members[who], text, thread=thread))

    def fail_next_send(self, status: int, retry_after: int) -> None:
        self.teams.fail_next("send", status, retry_after=retry_after)
