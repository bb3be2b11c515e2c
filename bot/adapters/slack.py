"""The Slack adapter: Slack payloads → `Incoming`, `Reply` → Block Kit, the outbox → Slack.

It only translates; the engine decides. One slack-bolt `AsyncApp` on one shared
aiohttp session serves both Socket Mode and the HTTP endpoint (`bot.serve`).

- **Conversations.** DMs to the bot; @mentions in channels (answered in a thread);
  the `/helpdesk` slash command (answered privately through its response URL);
  messages in a ticket's triage thread (an engineer's reply to the requester) and in
  the thread of a notice the requester got (the requester's comment). Button clicks
  and modal submissions go back into the engine; a `Form` opens as a modal (at once
  when the click that asked for it carries a trigger id, else behind a button).
- **Identity.** The Slack user is mapped to a directory identity by the verified email
  `users.info` returns (cached for `slack.user_cache_minutes`). Bots, deleted users,
  guests (restricted accounts) and unconfirmed emails get no identity: they can read
  articles and open tickets, never act on an account.
- **Safety.** Every request is checked at the door (`slack_inbound`): signature over the
  raw body, no older than 5 minutes (401), a shape the listeners can read (else 4xx,
  one log line), our app id (pinned at start) and workspace. The bot's own messages are
  ignored. Redeliveries (also concurrent ones) are dropped by event id
  in SQLite (`ProcessedEvents`), so a restart does not forget. Every echoed text is
  escaped (`slack_blocks.escape`), and text read back from a click is `shown_again`.
  429s are retried after Retry-After (`AsyncRateLimitErrorRetryHandler`). A reply
  carrying a secret (`delete_after_s`) goes only to the user's DM and is deleted after
  that many seconds, also across a restart (`scheduled_deletions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_blocks import (
    CHOICE_ACTION,
    FORM_ACTION,
    FORM_CALLBACK,
    chosen,
    escape,
    form_values,
    home_view,
    modal,
    plain,
    reply_blocks,
    shown_again,
)
from bot.adapters.slack_inbound import Dropped, checked, listener_failed
from bot.clock import iso, parse_iso
from bot.engine import Engine
from bot.errors import ConfigError
from bot.handlers.tickets import FROM_MESSAGE
from bot.i18n import Translator
from bot.messages import TEXT_FORM, Actor, Choice, Form, Incoming, Lang, Reply
from bot.notify import Outbound
from bot.services import Services
from bot.store.audit import AuditEntry
from bot.tickets.triage import triage_view

log = logging.getLogger(__name__)

COMMAND = "/helpdesk"
SHORTCUT = "send_to_helpdesk"
METADATA_EVENT = "helpdesk_outbox"
"""Message metadata event type carrying an outbox key, so `was_delivered` can check."""
HISTORY_PAGES = 10
"""`was_delivered` reads at most this many pages of 200 messages (2,000) posted since the
send began; a message found in none of them is sent again (a duplicate, never a loss)."""
CLOCK_SKEW_S = 120.0
"""History is read from this long before the send began (our clock against Slack's)."""
DEFAULT_API_URL = "https://slack.com/api/"
RATE_LIMIT_RETRIES = 3
SENT_IN_DM = "I've sent that to you in a direct message. 已經私訊咗俾你。"
PRIVATE_FALLBACK = (
    "A private message from the IT helpdesk: open Slack to read it."
    " IT helpdesk 私人訊息，請喺 Slack 打開睇。"
)
PRIVATE_NOT_SENT = (
    "I couldn't send that to you privately, so it wasn't shown anywhere. Please ask for a"
    " person; the service desk will redo it. 我私訊唔到你，所以冇顯示出嚟。請搵真人幫手。"
)
FORM_EXPIRED = (
    "That form is no longer available (the bot restarted). Ask again and I'll show it."
    " 個表格已經失效，請再問一次。"
)
_STASHED_FORMS = 1000
LANES = 2
"""Engine work runs in this many ordered lanes (see `SlackBot.converse`)."""
_MESSAGE_SUBTYPES = frozenset({"file_share", "thread_broadcast"})


def slack_hosted(url: str, api_url: str) -> bool:
    """Whether a `response_url` may be posted to: Slack's own (https on hooks.slack.com) or
    on the configured API URL's host (a stand-in). A request signed with our secret could
    otherwise make the bot post a private answer to any address; such a reply goes out
    through `chat.postEphemeral` instead."""
    where = urlsplit(url)
    if where.scheme == "https" and where.hostname == "hooks.slack.com":
        return True
    api = urlsplit(api_url)
    return (where.scheme, where.netloc) == (api.scheme, api.netloc)


@dataclass(frozen=True)
class SlackConfig:
    """Slack credentials and the HTTP listener, from the environment (never the config file)."""

    bot_token: str
    signing_secret: str
    app_token: str | None = None
    api_url: str = DEFAULT_API_URL
    host: str = "127.0.0.1"
    port: int = 3000
    user_cache_s: float = 3600.0
    app_id: str = ""
    """`slack.app_id` from the settings ("" = as `auth.test` says)."""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], user_cache_minutes: int = 60, app_id: str = ""
    ) -> SlackConfig:
        """Read SLACK_* and HELPDESK_HTTP_*; raise `ConfigError` naming the bad one."""
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "SLACK_BOT_TOKEN", "is not set: copy the Bot User OAuth Token (xoxb-…) of your app"
            )
        if not token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
        secret = env.get("SLACK_SIGNING_SECRET", "").strip()
        if not secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET", "is not set: copy the Signing Secret from Basic Information"
            )
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN", "must be an app-level token starting with xapp- (or unset)"
            )
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        if not re.match(r"https?://[^/]+", api_url):
            raise ConfigError("SLACK_API_URL", f"{api_url!r} is not an http(s) URL")
        api_url = api_url if api_url.endswith("/") else api_url + "/"
        host = env.get("HELPDESK_HTTP_HOST", "").strip() or "127.0.0.1"
        raw_port = env.get("HELPDESK_HTTP_PORT", "").strip() or "3000"
        if not raw_port.isdigit() or not 0 <= int(raw_port) <= 65535:
            raise ConfigError("HELPDESK_HTTP_PORT", f"{raw_port!r} is not a port (0-65535)")
        return cls(
            token,
            secret,
            app_token,
            api_url,
            host,
            int(raw_port),
            user_cache_minutes * 60.0,
            app_id,
        )


@dataclass
class Where:
    """Where a reply goes: the channel and thread, and how to answer privately."""

    channel: str
    user: str
    thread_ts: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    ephemeral: bool = False
    """Answer only the user (slash commands, clicks in channels)."""
    dm: bool = False

    @property
    def thread_ref(self) -> str | None:
        return f"{self.channel}/{self.thread_ts}" if self.thread_ts else None

    def metadata(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "thread": self.thread_ts,
            "url": self.response_url,
            "eph": self.ephemeral,
            "dm": self.dm,
        }


def _quiet_bolt(record: logging.LogRecord) -> bool:
    """Drop bolt's note that it uses our client's token rather than SLACK_BOT_TOKEN (it is
    the same token: the client is built from it)."""
    return "`token` will be unused" not in record.getMessage()


def slack_error(exc: SlackApiError) -> str:
    """The error code of a failed call (`ratelimited`, `invalid_auth`), never its text."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {exc.response.status_code}"


def _lang_of(locale: str | None) -> Lang:
    return "zh-Hant" if (locale or "").lower().startswith("zh") else "en"


_Work = tuple["Where", str, str, str | None, Mapping[str, str] | None]


@dataclass
class _Person:
    actor: Actor
    lang: Lang
    expires: float


@dataclass
class SlackBot:
    engine: Engine
    config: SlackConfig
    session: aiohttp.ClientSession
    client: AsyncWebClient = field(init=False)
    app: AsyncApp = field(init=False)
    team_id: str = ""
    bot_user: str = ""
    app_id: str = ""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _people: dict[str, _Person] = field(default_factory=dict)
    _forms: OrderedDict[str, Form] = field(default_factory=OrderedDict)
    _dms: dict[str, str] = field(default_factory=dict)
    _lanes: list[asyncio.Queue[_Work]] = field(
        default_factory=lambda: [asyncio.Queue() for _ in range(LANES)]
    )
    _workers: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = AsyncWebClient(
            token=self.config.bot_token,
            base_url=self.config.api_url,
            session=self.session,
            timeout=15,
        )
        self.client.retry_handlers.append(
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)
        )
        bolt_log = logging.getLogger("bot.adapters.slack.bolt")
        bolt_log.addFilter(_quiet_bolt)
        # Signatures are checked by `slack_inbound.verify`, before the body is parsed.
        self._verifier = SignatureVerifier(self.config.signing_secret)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=self.config.signing_secret,
            process_before_response=False,
            logger=bolt_log,
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

    @property
    def services(self) -> Services:
        return self.engine.services

    async def start(self) -> None:
        """Check the token with `auth.test`; learn our workspace, bot user and app id."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise ConfigError("SLACK_BOT_TOKEN", f"Slack refused it ({slack_error(exc)})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigError(
                "SLACK_API_URL", f"cannot reach {self.config.api_url} ({type(exc).__name__})"
            ) from None
        self.team_id = str(auth.get("team_id") or "")
        self.bot_user = str(auth.get("user_id") or "")
        named, configured = str(auth.get("app_id") or ""), self.config.app_id
        if configured and named and configured != named:
            raise ConfigError("slack.app_id", f"is {configured} but the token is app {named}")
        self.app_id = configured or named
        if not self.app_id:
            raise ConfigError(
                "slack.app_id",
                "is not set and auth.test names no app: set it to the App ID (Basic Information)",
            )

    # -- HTTP ------------------------------------------------------------------------------

    async def http(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        """POST /slack/events: events, slash commands, interactivity and shortcuts."""
        try:
            bolt_request = await checked(request, self._verifier, self.app_id, self.team_id)
        except Dropped as dropped:
            dropped.log("HTTP")
            return aiohttp.web.Response(status=dropped.status)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    # -- who ------------------------------------------------------------------------------

    async def _person(self, user: str) -> _Person:
        cached = self._people.get(user)
        now = time.monotonic()
        if cached is not None and cached.expires > now:
            return cached
        email: str | None = None
        display = ""
        lang: Lang = "en"
        try:
            info = (await self.client.users_info(user=user, include_locale=True))["user"]
        except SlackApiError as exc:
            log.warning("users.info failed for a user: %s", slack_error(exc))
            info = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info failed for a user: %s", type(exc).__name__)
            info = None
        if info:
            profile = info.get("profile") or {}
            display = str(profile.get("display_name") or info.get("real_name") or "")
            lang = _lang_of(info.get("locale"))
            trusted = not (
                info.get("is_bot")
                or info.get("deleted")
                or info.get("is_restricted")
                or info.get("is_ultra_restricted")
                or info.get("is_email_confirmed") is False
            )
            if trusted and profile.get("email"):
                # Passed on as Slack verified it: the core refuses one with whitespace or
                # control characters (bot.integrations.identity), so nothing is repaired here.
                email = str(profile["email"]).lower()
        zone = str(info.get("tz") or "") if info else ""
        person = _Person(
            Actor("slack", user, email, display, timezone=zone or None),
            lang,
            now + self.config.user_cache_s,
        )
        if info:
            self._people[user] = person
        return person

    async def _names(self, text: str) -> dict[str, str]:
        """The users mentioned in a text, by id: their email (for `assign … <@U…>`)."""
        names: dict[str, str] = {self.bot_user: ""} if self.bot_user else {}
        for user in set(re.findall(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", text)) - set(names):
            person = await self._person(user)
            if person.actor.email:
                names[user] = person.actor.email
        return names

    async def _dm(self, user: str) -> str:
        if user not in self._dms:
            opened = await self.client.conversations_open(users=user)
            self._dms[user] = str(opened["channel"]["id"])
        return self._dms[user]

    # -- events ----------------------------------------------------------------------------

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("user") in (None, "", self.bot_user):
            return
        if event.get("subtype") is not None and event.get("subtype") not in _MESSAGE_SUBTYPES:
            return
        channel, user = str(event.get("channel", "")), str(event["user"])
        text = str(event.get("text") or "")
        if event.get("channel_type") == "im":
            where = Where(channel, user, thread_ts=event.get("thread_ts"), dm=True)
        else:
            thread = event.get("thread_ts")
            if not thread or (self.bot_user and f"<@{self.bot_user}" in text):
                return  # top-level channel chatter, or a mention (app_mention answers it)
            ref = f"{channel}/{thread}"
            tickets = self.services.tickets
            if tickets.for_thread(ref) is None and tickets.for_requester_thread(ref) is None:
                return
            # The bot's answers to an engineer in a triage thread are for them alone.
            where = Where(channel, user, thread_ts=thread, ephemeral=True)
        await self.converse(where, text, event_id=str(body.get("event_id") or ""))

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
        if not self.services.events.claim("slack", str(body.get("event_id"))):
            return
        await self.publish_home(user)

    async def publish_home(self, user: str) -> None:
        person = await self._person(user)
        msg = Incoming(person.actor, f"home:{user}", "", lang=person.lang, forms=True)
        reply = await self.engine.home(msg)
        token = self._stash(reply.form, f"home:{person.lang}") if reply.form else None
        await self._call("views.publish", user_id=user, view=home_view(reply, token))

    async def _on_command(self, ack: Any, body: dict[str, Any], command: dict[str, Any]) -> None:
        await ack()
        where = Where(
            str(command.get("channel_id", "")),
            str(command.get("user_id", "")),
            response_url=command.get("response_url"),
            trigger_id=command.get("trigger_id"),
            ephemeral=True,
        )
        text = f"{COMMAND} {command.get('text') or ''}".strip()
        await self.converse(where, text, event_id=f"command:{command.get('trigger_id')}")

    async def _on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        where = await self._where_clicked(body, user)
        value = str(action.get("value") or "")
        if action.get("action_id") == FORM_ACTION:
            form = self._forms.get(value)
            if form is None:
                await self._send([Reply(FORM_EXPIRED, private=True)], where)
            else:
                await self._open_form(form, where)
            return
        label = str((action.get("text") or {}).get("text") or value)
        message = body.get("message") or {}
        container = body.get("container") or {}
        if where.dm and message.get("blocks") and container.get("type") == "message":
            # The choice is made: show it in place of the buttons (no second click).
            await self._call(
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
        return Where(await self._dm(user), user, trigger_id=trigger, dm=True)

    async def _on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        meta = json.loads(view.get("private_metadata") or "{}")
        channel = meta.get("channel") or await self._dm(user)
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
        names = await self._names(text)
        form = {"text": plain(text, names), "link": link, "key": f"slack:msg:{channel}:{ts}:{user}"}
        where = Where(channel, user, response_url=body.get("response_url"), ephemeral=True)
        await self.converse(
            where, "", event_id=f"shortcut:{body.get('trigger_id')}", choice=FROM_MESSAGE, form=form
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
    ) -> None:
        """Queue one user action for the engine and return at once (the ack is not held).

        Work runs in `LANES` lanes, a conversation always in the same one: its messages
        are answered in order, and the event loop is never blocked by more than a few
        messages' worth of engine work, so acks stay fast under load."""
        lane = zlib.crc32(f"{where.channel}|{where.user}".encode()) % LANES
        self._lanes[lane].put_nowait((where, text, event_id, choice, form))

    def start_lanes(self) -> None:
        for queue in self._lanes:
            self._workers.append(asyncio.create_task(self._lane(queue)))

    async def drain(self, timeout: float = 10.0) -> None:
        """Finish what is queued (at shutdown), then stop the lanes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._lanes)), timeout)
        for worker in self._workers:
            worker.cancel()

    async def _lane(self, queue: asyncio.Queue[_Work]) -> None:
        while True:
            where, text, event_id, choice, form = await queue.get()
            try:
                await self._converse(where, text, event_id=event_id, choice=choice, form=form)
            except Exception:
                log.exception("failed to answer a Slack event")
            finally:
                queue.task_done()

    async def _converse(
        self,
        where: Where,
        text: str,
        *,
        event_id: str,
        choice: str | None,
        form: Mapping[str, str] | None,
    ) -> None:
        person = await self._person(where.user)
        typed = plain(text, await self._names(text)).strip() if text else ""
        msg = Incoming(
            actor=person.actor,
            conversation_id=where.channel,
            text=typed,
            lang=person.lang,
            thread_id=where.thread_ref,
            choice=choice,
            form=form,
            event_id=event_id or None,
            forms=True,
        )
        replies = await self.engine.handle(msg)
        await self._send(replies, where)
        self.wake.set()

    # -- sending ---------------------------------------------------------------------------

    async def _call(self, method: str, **params: Any) -> dict[str, Any] | None:
        """One Web API call; a Slack error is logged (method and error code only)."""
        try:
            response = await self.client.api_call(method, json=params)
        except SlackApiError as exc:
            log.warning("Slack %s failed: %s", method, slack_error(exc))
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Slack %s failed: %s", method, type(exc).__name__)
            return None
        return dict(response.data) if isinstance(response.data, dict) else None

    def _stash(self, form: Form, token: str | None = None) -> str:
        token = token or "form:" + secrets.token_hex(8)
        self._forms[token] = form
        self._forms.move_to_end(token)
        while len(self._forms) > _STASHED_FORMS:
            self._forms.popitem(last=False)
        return token

    async def _open_form(self, form: Form, where: Where) -> bool:
        if not where.trigger_id:
            return False
        opened = await self._call(
            "views.open", trigger_id=where.trigger_id, view=modal(form, where.metadata())
        )
        where.trigger_id = None  # a trigger id opens one view
        return opened is not None

    async def _send(self, replies: list[Reply], where: Where) -> None:
        for reply in replies:
            if reply.delete_after_s is not None:
                await self._send_secret(reply, where)
                continue
            if reply.form is not None and await self._open_form(reply.form, where):
                continue
            token = self._stash(reply.form) if reply.form is not None else None
            text, blocks = reply_blocks(reply, token)
            await self._post(where, text, blocks, private=reply.private)

    async def _post(
        self, where: Where, text: str, blocks: list[dict[str, Any]], *, private: bool
    ) -> None:
        if where.ephemeral or (private and not where.dm):
            if where.response_url and slack_hosted(where.response_url, self.config.api_url):
                await self._respond(where.response_url, text, blocks)
            else:
                await self._call(
                    "chat.postEphemeral",
                    channel=where.channel,
                    user=where.user,
                    text=text,
                    blocks=blocks,
                    **({"thread_ts": where.thread_ts} if where.thread_ts else {}),
                )
            return
        await self._call(
            "chat.postMessage",
            channel=where.channel,
            text=text,
            blocks=blocks,
            **({"thread_ts": where.thread_ts} if where.thread_ts else {}),
        )

    async def _respond(self, url: str, text: str, blocks: list[dict[str, Any]]) -> None:
        body = {"response_type": "ephemeral", "replace_original": False, "text": text}
        try:
            async with self.session.post(url, json={**body, "blocks": blocks}) as response:
                if response.status >= 400:
                    log.warning("response_url post failed: HTTP %s", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)

    async def _send_secret(self, reply: Reply, where: Where) -> None:
        """A secret goes to the user's DM only, and is deleted after `delete_after_s`."""
        dm = await self._dm(where.user)
        _, blocks = reply_blocks(replace(reply, form=None))
        # The fallback text shows in notifications and e-mail digests, which chat.delete
        # cannot recall: it never carries the secret, only the blocks do.
        posted = await self._call(
            "chat.postMessage", channel=dm, text=PRIVATE_FALLBACK, blocks=blocks
        )
        if posted is None:
            self.services.audit.append(
                AuditEntry(
                    actor_platform="slack",
                    actor_id=where.user,
                    actor_directory_id=None,
                    target=None,
                    action="secret_delivery",
                    verification="none",
                    outcome="failed",
                    reason="the DM with the secret could not be posted",
                )
            )
            await self._post(where, escape(PRIVATE_NOT_SENT), [], private=True)
            return
        if posted:
            services = self.services
            delete_at = services.clock() + timedelta(seconds=reply.delete_after_s or 0)
            with services.db.conn:
                services.db.conn.execute(
                    "INSERT INTO scheduled_deletions (platform, message_ref, delete_at)"
                    " VALUES ('slack', ?, ?) ON CONFLICT DO NOTHING",
                    (f"{posted['channel']}/{posted['ts']}", iso(delete_at)),
                )
        if not where.dm:
            await self._post(where, escape(SENT_IN_DM), [], private=True)

    async def delete_due(self) -> int:
        """Delete the secret messages whose time is up; return how many went."""
        conn = self.services.db.conn
        now = iso(self.services.clock())
        rows = conn.execute(
            "SELECT message_ref FROM scheduled_deletions WHERE platform = 'slack'"
            " AND delete_at <= ? ORDER BY delete_at LIMIT 100",
            (now,),
        ).fetchall()
        done = 0
        for (ref,) in rows:
            channel, _, ts = str(ref).partition("/")
            try:
                await self.client.chat_delete(channel=channel, ts=ts)
            except SlackApiError as exc:
                if slack_error(exc) not in ("message_not_found", "channel_not_found"):
                    log.warning("chat.delete failed: %s", slack_error(exc))
                    continue
            with conn:
                conn.execute(
                    "DELETE FROM scheduled_deletions WHERE platform = 'slack' AND message_ref = ?",
                    (ref,),
                )
            done += 1
        return done


class SlackTransport:
    """Delivers the outbox in Slack: triage posts (updated in place with `chat.update`),
    thread mirrors and SLA alerts in the triage thread, notices and pages by DM.

    Each new post carries its outbox key in message metadata (`helpdesk_outbox`), so
    after a crash mid-send `was_delivered` finds it in the channel's history.
    """

    def __init__(self, slack: SlackBot) -> None:
        self._slack = slack

    async def _api(self, method: str, **params: Any) -> dict[str, Any]:
        response = await self._slack.client.api_call(method, json=params)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _channel(self, message: Outbound) -> str:
        recipient = message.recipient
        slack = self._slack
        if recipient.startswith("channel:"):
            return recipient.removeprefix("channel:")
        if recipient.startswith("user:slack:"):
            return await slack._dm(recipient.removeprefix("user:slack:"))
        email = recipient.removeprefix("email:") if recipient.startswith("email:") else ""
        if recipient.startswith("user:") and "ticket" in message.payload:
            # a requester from another platform: by the ticket's email
            ticket = slack.services.tickets.get(int(message.payload["ticket"]))
            email = ticket.requester_email if ticket else ""
        elif recipient.startswith("user:"):
            raise LookupError(f"no Slack user for {recipient}")
        if email:
            found = await self._api("users.lookupByEmail", email=email)
            return await slack._dm(str(found["user"]["id"]))
        return recipient  # a bare name: a channel (e.g. tickets.oncall_recipient)

    def _thread(self, ticket: int) -> tuple[str, str] | None:
        row = self._slack.services.db.conn.execute(
            "SELECT message_ref FROM triage_posts WHERE ticket_id = ?", (ticket,)
        ).fetchone()
        if row is None:
            return None
        channel, _, ts = str(row[0]).partition("/")
        return channel, ts

    async def deliver(self, message: Outbound) -> str:
        payload = message.payload
        services = self._slack.services
        thread: tuple[str, str] | None = None
        if message.kind == "triage":
            ticket = services.tickets.require(int(payload["ticket"]))
            text, blocks = reply_blocks(triage_view(ticket, Translator("en")))
            if message.update_ref:
                channel, _, ts = message.update_ref.partition("/")
                await self._api("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)
                return message.update_ref
        elif message.kind in ("thread", "sla"):
            thread = self._thread(int(payload["ticket"]))
            if thread is None:
                raise LookupError("the ticket's triage post is not delivered yet")
            if message.kind == "thread":
                line = f"*{payload['actor']}* ({payload['kind']}): {payload['text']}"
            else:
                line = f"SLA {payload['clock']} {payload['kind']} (due {payload['due']})"
            text, blocks = reply_blocks(Reply(line))
        elif message.kind == "page":
            line = f"PAGE {payload['priority']} HD-{payload['ticket']}: {payload['summary']}"
            text, blocks = reply_blocks(Reply(line))
        else:
            choices = tuple(Choice(str(label), str(value)) for label, value in payload["choices"])
            text, blocks = reply_blocks(Reply(str(payload["text"]), choices=choices))
        channel = thread[0] if thread else await self._channel(message)
        posted = await self._api(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": message.key}},
            **({"thread_ts": thread[1]} if thread else {}),
        )
        if message.kind == "handoff":
            await self._attach_chart(message, posted)
        return f"{posted['channel']}/{posted['ts']}"

    async def _attach_chart(self, message: Outbound, posted: dict[str, Any]) -> None:
        """A handoff summary's chart, uploaded into the summary message's thread."""
        png = await asyncio.to_thread(self._chart, message)
        if png is None:
            return
        upload = await self._api(
            "files.getUploadURLExternal", filename="handoff.png", length=len(png)
        )
        session = self._slack.session
        async with session.post(str(upload["upload_url"]), data=png) as response:
            if response.status >= 400:
                log.warning("chart upload failed: HTTP %s", response.status)
                return
        await self._api(
            "files.completeUploadExternal",
            files=[{"id": upload["file_id"], "title": "Shift handoff"}],
            channel_id=posted["channel"],
            thread_ts=posted["ts"],
        )

    def _chart(self, message: Outbound) -> bytes | None:
        """Draw the chart of the shift the summary is about (None if it cannot be drawn)."""
        import tempfile
        from pathlib import Path

        from bot.clock import parse_iso
        from bot.handlers.supervisor import build_handoff
        from bot.reports.chart import handoff_chart

        services = self._slack.services
        rotation = services.settings.rotation
        try:
            shift = rotation.shift_at(
                str(message.payload["team"]), parse_iso(str(message.payload["start"]))
            )
            summary = build_handoff(services, shift)
            with tempfile.TemporaryDirectory() as folder:
                path = handoff_chart(
                    summary, Path(folder) / "handoff.png", services.settings.reports.language
                )
                return path.read_bytes()
        except (KeyError, ValueError, OSError) as exc:
            log.warning("handoff chart not drawn: %s", type(exc).__name__)
            return None

    async def was_delivered(self, message: Outbound) -> bool:
        if message.update_ref:
            return False  # an update in place is safe to repeat
        thread = (
            self._thread(int(message.payload["ticket"]))
            if message.kind in ("thread", "sla")
            else None
        )
        channel = thread[0] if thread else await self._channel(message)
        params: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
        if message.attempted_at:
            since = parse_iso(message.attempted_at).timestamp() - CLOCK_SKEW_S
            params["oldest"] = f"{since:.6f}"
        if thread:
            params["ts"] = thread[1]
        method = "conversations.replies" if thread else "conversations.history"
        for _ in range(HISTORY_PAGES):
            history = await self._api(method, **params)
            for posted in history.get("messages", []):
                meta = posted.get("metadata") or {}
                if (meta.get("event_payload") or {}).get("key") == message.key:
                    return True
            params["cursor"] = (history.get("response_metadata") or {}).get("next_cursor")
            if not params["cursor"]:
                return False
        log.warning("outbox key not found in %s pages of history: sending again", HISTORY_PAGES)
        return False


__all__ = ["CHOICE_ACTION", "SlackBot", "SlackConfig", "SlackTransport", "Where"]
