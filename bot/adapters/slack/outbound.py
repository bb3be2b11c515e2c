"""Where a Slack reply goes (`Where`, the route stored with each message in the inbox),
which response URLs may be posted to, and the forms waiting behind a button (`Forms`)."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.base import MemoryShelf, Shelf
from bot.adapters.slack.blocks import modal
from bot.adapters.slack.config import slack_error
from bot.messages import Form, form_of

log = logging.getLogger(__name__)

STASHED_FORMS = 1000


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


async def call(client: AsyncWebClient, method: str, **params: Any) -> dict[str, Any] | None:
    """One Web API call; a Slack error is logged (method and error code only)."""
    try:
        response = await client.api_call(method, json=params)
    except SlackApiError as exc:
        log.warning("Slack %s failed: %s", method, slack_error(exc))
        return None
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Slack %s failed: %s", method, type(exc).__name__)
        return None
    return dict(response.data) if isinstance(response.data, dict) else None


@dataclass
class Forms:
    """Forms shown behind a button (a modal needs a fresh trigger id): kept on `shelf` by
    a token the button carries; one no longer there makes the button say it expired."""

    client: AsyncWebClient
    shelf: Shelf = field(default_factory=lambda: MemoryShelf(STASHED_FORMS))

    def stash(self, form: Form, token: str | None = None) -> str:
        token = token or "form:" + secrets.token_hex(8)
        self.shelf.put(f"slack:{token}", json.dumps(asdict(form)))
        return token

    def get(self, token: str) -> Form | None:
        kept = self.shelf.get(f"slack:{token}")
        return None if kept is None else form_of(json.loads(kept))

    async def open(self, form: Form, where: Where, client: AsyncWebClient | None = None) -> bool:
        """Open `form` as a modal, if the click that asked for it can still open one (with
        `client`, a client on the caller's event loop; else the listeners')."""
        if not where.trigger_id:
            return False
        opened = await call(
            client or self.client,
            "views.open",
            trigger_id=where.trigger_id,
            view=modal(form, where.metadata()),
        )
        where.trigger_id = None  # a trigger id opens one view
        return opened is not None
