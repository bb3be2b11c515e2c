"""Slack payloads → `Incoming`: the listeners of one slack-bolt `AsyncApp`, which serves
both the HTTP endpoint and Socket Mode.

- **Conversations.** DMs to the bot; @mentions in channels (answered in a thread);
  the `/helpdesk` slash command (answered privately through its response URL);
  messages in a channel's threads, passed on as not addressed to the bot (the engine
  answers those in a ticket's triage thread, an engineer's reply to the requester, or in
  the thread of a notice the requester got, their comment). Button clicks and modal
  submissions go back into the engine; a `Form` opens as a modal (at once when the click
  that asked for it carries a trigger id, else behind a button).
- **Safety.** Every request is checked at the door (`checks`): signature over the raw body,
  no older than 5 minutes (401), a shape the listeners can read (else 4xx, one log line),
  our app id (pinned at start) and workspace. The bot's own messages are ignored. Each
  message is handed to the core (`Core.accept`: stored with its dedupe claim) before
  the ack, so redeliveries are dropped and nothing acknowledged is lost. Every echoed
  text is escaped (`blocks.escape`), and text read back from a click is `shown_again`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.base import Core
from bot.adapters.slack.blocks import (
    FORM_ACTION,
    FORM_CALLBACK,
    chosen,
    form_values,
    home_view,
    plain,
    shown_again,
)
from bot.adapters.slack.checks import listener_failed
from bot.adapters.slack.config import slack_error
from bot.adapters.slack.identity import People
from bot.adapters.slack.outbound import Forms, Where, call
from bot.i18n import bilingual
from bot.messages import TEXT_FORM, TICKET_FROM_MESSAGE, Command, Incoming

log = logging.getLogger(__name__)

COMMAND = "/helpdesk"
SHORTCUT = "send_to_helpdesk"
_MESSAGE_SUBTYPES = frozenset({"file_share", "thread_broadcast"})


def _quiet_bolt(record: logging.LogRecord) -> bool:
    """Drop bolt's note that it uses our client's token rather than SLACK_BOT_TOKEN (it is
    the same token: the client is built from it)."""
    return "`token` will be unused" not in record.getMessage()


@dataclass
class SlackInbound:
    """The listeners: each turns one Slack payload into an `Incoming` for `core`."""

    client: AsyncWebClient
    signing_secret: str
    people: People
    forms: Forms
    core: Core
    app: AsyncApp = field(init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        bolt_log = logging.getLogger("bot.adapters.slack.bolt")
        bolt_log.addFilter(_quiet_bolt)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=self.signing_secret,
            # The ack waits for the listener: it returns once the message is in the inbox.
            process_before_response=True,
            logger=bolt_log,
            # Signatures are checked by `checks.verify`, before the body is parsed.
            request_verification_enabled=False,
            raise_error_for_unhandled_request=True,
        )
        self.app.error(listener_failed)
        self.app.event("message")(self._on_message)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("app_home_opened")(self._on_home)
        self.app.command(COMMAND)(self._on_command)
        self.app.action(re.compile(r"^hd_"))(self._on_action)
        self.app.view(FORM_CALLBACK)(self._on_submit)
        self.app.view_closed(FORM_CALLBACK)(self._on_closed)
        self.app.shortcut(SHORTCUT)(self._on_shortcut)

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("user") in (None, "", self.people.bot_user):
            return
        if event.get("subtype") is not None and event.get("subtype") not in _MESSAGE_SUBTYPES:
            return
        channel, user = str(event.get("channel", "")), str(event["user"])
        text = str(event.get("text") or "")
        addressed = True
        if event.get("channel_type") == "im":
            where = Where(channel, user, thread_ts=event.get("thread_ts"), dm=True)
        else:
            thread = event.get("thread_ts")
            if not thread or (self.people.bot_user and f"<@{self.people.bot_user}" in text):
                return  # top-level channel chatter, or a mention (app_mention answers it)
            # Not said to the bot: the engine answers it only in a ticket's thread (an
            # engineer's reply to the requester, the requester's comment), and the bot's
            # answers there are for the writer alone.
            where = Where(channel, user, thread_ts=thread, ephemeral=True)
            addressed = False
        await self.converse(
            where, text, event_id=str(body.get("event_id") or ""), addressed=addressed
        )

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        channel = str(event.get("channel", ""))
        if channel.startswith("D") or event.get("bot_id"):
            return
        thread = event.get("thread_ts") or event.get("ts")
        where = Where(channel, str(event.get("user", "")), thread_ts=thread)
        await self.converse(where, str(event.get("text") or ""), event_id=str(body["event_id"]))

    async def _on_home(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        user = str(event.get("user") or "")
        if event.get("tab") != "home" or not user:
            return
        # A view of the moment, not a message: drawn after the ack, not kept in the inbox.
        task = asyncio.create_task(self.publish_home(user, str(body.get("event_id") or "")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def publish_home(self, user: str, event_id: str) -> None:
        person = await self.people.person(user)
        msg = Incoming(
            person.actor, f"home:{user}", "", lang=person.lang, forms=True, event_id=event_id
        )
        reply = await self.core.home(msg)
        if reply is None:
            return  # a redelivered event
        token = self.forms.stash(reply.form, f"home:{person.lang}") if reply.form else None
        await call(self.client, "views.publish", user_id=user, view=home_view(reply, token))

    async def _on_command(self, ack: Any, body: dict[str, Any], command: dict[str, Any]) -> None:
        await ack()
        where = Where(
            str(command.get("channel_id", "")),
            str(command.get("user_id", "")),
            response_url=command.get("response_url"),
            trigger_id=command.get("trigger_id"),
            ephemeral=True,
        )
        typed = str(command.get("text") or "")
        await self.converse(
            where,
            f"{COMMAND} {typed}".strip(),
            event_id=f"command:{command.get('trigger_id')}",
            command=Command.parse(plain(typed, await self.people.names(typed))),
        )

    async def _on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        where = await self._where_clicked(body, user)
        value = str(action.get("value") or "")
        if action.get("action_id") == FORM_ACTION:
            form = self.forms.get(value)
            if form is None:
                await call(
                    self.client,
                    "chat.postEphemeral",
                    channel=where.channel,
                    user=user,
                    text=bilingual("delivery.form_expired"),
                )
            else:
                await self.forms.open(form, where)
            return
        label = str((action.get("text") or {}).get("text") or value)
        message = body.get("message") or {}
        container = body.get("container") or {}
        if where.dm and message.get("blocks") and container.get("type") == "message":
            # The choice is made: show it in place of the buttons (no second click).
            await call(
                self.client,
                "chat.update",
                channel=where.channel,
                ts=str(container.get("message_ts")),
                text=shown_again(str(message.get("text") or "")) or " ",
                blocks=chosen(list(message["blocks"]), label),
            )
        event_id = f"action:{body.get('trigger_id')}"
        await self.converse(where, label, event_id=event_id, choice=value)

    async def _where_clicked(self, body: dict[str, Any], user: str) -> Where:
        container = body.get("container") or {}
        trigger = body.get("trigger_id")
        if container.get("type") == "message":
            channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id"))
            message = body.get("message") or {}
            dm = channel.startswith("D")
            return Where(
                channel,
                user,
                thread_ts=message.get("thread_ts"),
                response_url=body.get("response_url"),
                trigger_id=trigger,
                ephemeral=not dm or bool(container.get("is_ephemeral")),
                dm=dm,
            )
        # A click on the App Home tab (or a modal): answer in the user's DM.
        return Where(await self.people.dm(user), user, trigger_id=trigger, dm=True)

    async def _on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        meta = json.loads(view.get("private_metadata") or "{}")
        channel = meta.get("channel") or await self.people.dm(user)
        where = Where(
            channel,
            user,
            thread_ts=meta.get("thread"),
            response_url=meta.get("url"),
            ephemeral=bool(meta.get("eph")),
            dm=bool(meta.get("dm")) or channel.startswith("D"),
        )
        values = form_values(view)
        event_id = f"view:{view.get('id')}"
        if meta.get("form") == TEXT_FORM:
            await self.converse(where, values.get("text", ""), event_id=event_id)
        else:
            await self.converse(where, "", event_id=event_id, choice=meta.get("form"), form=values)

    async def _on_closed(self, ack: Any) -> None:
        await ack()

    async def _on_shortcut(self, ack: Any, body: dict[str, Any]) -> None:
        """Message shortcut "Send to helpdesk": a ticket from any message, with its link."""
        await ack()
        if body.get("type") != "message_action":
            return
        user = str(body["user"]["id"])
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        ts = str(message.get("ts") or "")
        link = ""
        try:
            link = str(
                (await self.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
            )
        except SlackApiError as exc:
            log.warning("chat.getPermalink failed: %s", slack_error(exc))
        text = str(message.get("text") or "")
        names = await self.people.names(text)
        form = {"text": plain(text, names), "link": link, "key": f"slack:msg:{channel}:{ts}:{user}"}
        where = Where(channel, user, response_url=body.get("response_url"), ephemeral=True)
        await self.converse(
            where,
            "",
            event_id=f"shortcut:{body.get('trigger_id')}",
            choice=TICKET_FROM_MESSAGE,
            form=form,
        )

    # -- the engine ------------------------------------------------------------------------

    async def converse(
        self,
        where: Where,
        text: str,
        *,
        event_id: str,
        choice: str | None = None,
        form: Mapping[str, str] | None = None,
        addressed: bool = True,
        command: Command | None = None,
    ) -> None:
        """Translate one user action into an `Incoming` and store it in the inbox; return
        once it is stored (the ack follows). Raises if it could not be stored: the
        request is then not acknowledged, and Slack sends it again."""
        person = await self.people.person(where.user)
        typed = plain(text, await self.people.names(text)).strip() if text else ""
        msg = Incoming(
            actor=person.actor,
            conversation_id=where.channel,
            text=typed,
            lang=person.lang,
            thread_id=where.thread_ref,
            choice=choice,
            form=form,
            event_id=event_id or "local:" + secrets.token_hex(8),
            forms=True,
            addressed=addressed,
            command=command or Command.typed(typed),
            address={"channel": where.channel} if where.dm else None,
        )
        if not await self.core.accept(msg, asdict(where)):
            log.info("dropping redelivered event %s", event_id)
