"""The activities Teams sends a bot, as the Teams stand-in builds them for tests: a message
in the 1:1 chat, a channel @mention (a new thread or in one), an `Action.Submit` click,
an `Action.Execute` invoke, and the two installs. Mixed into `TeamsStandIn`, whose
`service_url` they name."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from tests.teams_people import BOT_ID, TENANT_ID, Member


class Activities:
    _ids: itertools.count[int]

    @property
    def service_url(self) -> str:
        raise NotImplementedError

    def _base(self, member: Member, conversation: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": "act-" + secrets.token_hex(6),
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "from": {"id": member.id, "name": member.name, "aadObjectId": member.aad},
            "recipient": {"id": BOT_ID, "name": "Helpdesk"},
            "conversation": conversation,
            "channelData": {"tenant": {"id": TENANT_ID}},
            "locale": member.locale,
            **extra,
        }

    def personal(self, member: Member, tenant: str = TENANT_ID) -> dict[str, Any]:
        return {"id": "a:1:" + member.id, "conversationType": "personal", "tenantId": tenant}

    def message(self, member: Member, text: str, **extra: Any) -> dict[str, Any]:
        """A message in the member's 1:1 chat with the bot."""
        return self._base(member, self.personal(member), type="message", text=text, **extra)

    def mention(
        self,
        member: Member,
        text: str,
        channel: str = "19:general@thread.tacv2",
        thread: str | None = None,
    ) -> dict[str, Any]:
        """A channel message @mentioning the bot (as Teams sends it: `<at>` markup), in a
        new thread or in `thread` (a conversation id `<channel>;messageid=<id>`). A new
        thread's first post names itself: its `messageid` is its own activity id."""
        root = str(next(self._ids) + 1700000000000)
        conversation = {
            "id": thread or f"{channel};messageid={root}",
            "conversationType": "channel",
            "tenantId": TENANT_ID,
        }
        entity = {
            "type": "mention",
            "mentioned": {"id": BOT_ID, "name": "Helpdesk"},
            "text": "<at>Helpdesk</at>",
        }
        activity = self._base(
            member,
            conversation,
            type="message",
            text=f"<at>Helpdesk</at> {text}",
            entities=[entity],
        )
        if thread is None:
            activity["id"] = root
        activity["channelData"] |= {"channel": {"id": channel}, "team": {"id": "19:team"}}
        return activity

    def execute(self, member: Member, data: dict[str, Any]) -> dict[str, Any]:
        """An `Action.Execute` click: an `adaptiveCard/action` invoke."""
        value = {"action": {"type": "Action.Execute", "verb": "hd", "data": data}}
        return self._base(
            member, self.personal(member), type="invoke", name="adaptiveCard/action", value=value
        )

    def submit(
        self, member: Member, data: dict[str, Any], reply_to: str, thread: str | None = None
    ) -> dict[str, Any]:
        """An `Action.Submit` click on a card the bot posted (`reply_to`: its activity id),
        in the 1:1 chat or on a channel post (`thread`: its conversation id)."""
        if thread is None:
            conversation = self.personal(member)
        else:
            conversation = {"id": thread, "conversationType": "channel", "tenantId": TENANT_ID}
        activity = self._base(member, conversation, type="message", value=data, replyToId=reply_to)
        if thread is not None:
            activity["channelData"]["channel"] = {"id": thread.partition(";")[0]}
        return activity

    def team_install(self, member: Member, channel: str) -> dict[str, Any]:
        """`conversationUpdate`: the app was added to a team (seen from one of its channels)."""
        conversation = {"id": channel, "conversationType": "channel", "tenantId": TENANT_ID}
        activity = self._base(
            member, conversation, type="conversationUpdate", membersAdded=[{"id": BOT_ID}]
        )
        activity["channelData"] |= {"channel": {"id": channel}, "team": {"id": "19:team"}}
        return activity

    def install(self, member: Member) -> dict[str, Any]:
        """`conversationUpdate`: the bot was added to the member's personal scope."""
        return self._base(
            member,
            self.personal(member),
            type="conversationUpdate",
            membersAdded=[{"id": BOT_ID}],
        )
