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
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
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
    form_values,
    home_view,
    modal,
    plain,
    shown_again,
)
from bot.adapters.slack_inbound import Dropped, checked, listener_failed
from bot.engine import Engine
from bot.errors import ConfigError
from bot.handlers.tickets import FROM_MESSAGE
from bot.i18n import bilingual
from bot.inbox import Inbox
from bot.messages import TEXT_FORM, Actor, Form, Incoming, Lang
from bot.services import Services

log = logging.getLogger(__name__)

COMMAND = "/helpdesk"
SHORTCUT = "send_to_helpdesk"
DEFAULT_API_URL = "https://slack.com/api/"
RATE_LIMIT_RETRIES = 3
_STASHED_FORMS = 1000
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
    inbox: Inbox | None = None
    """Where a translated message goes before it is acknowledged (set before serving)."""
    accepting: bool = True
    """False once shutting down: a request is then refused (503) and Slack sends it again."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

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
            # The ack waits for the listener: it returns once the message is in the inbox.
            process_before_response=True,
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
        if not self.accepting:
            return aiohttp.web.Response(status=503, headers={"Retry-After": "5"})
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
        # A view of the moment, not a message: drawn after the ack, not kept in the inbox.
        task = asyncio.create_task(self.publish_home(user))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
                await self._call(
                    "chat.postEphemeral",
                    channel=where.channel,
                    user=user,
                    text=bilingual("delivery.form_expired"),
                )
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
        """Translate one user action into an `Incoming` and store it in the inbox; return
        once it is stored (the ack follows). Raises if it could not be stored: the
        request is then not acknowledged, and Slack sends it again."""
        assert self.inbox is not None, "SlackBot.inbox is set before serving"
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
            event_id=event_id or "local:" + secrets.token_hex(8),
            forms=True,
        )
        if not await self.inbox.accept(msg, asdict(where)):
            log.info("dropping redelivered event %s", event_id)

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


__all__ = ["CHOICE_ACTION", "SlackBot", "SlackConfig", "Where"]
