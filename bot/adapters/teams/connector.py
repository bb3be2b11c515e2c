"""The Bot Connector REST API (v3), on our shared aiohttp session, with the bot's token.

Decision (issue 19): no Agents SDK. Its token check is not used (see `auth`), its MSAL
wrapper needs overrides to reach any authority but Microsoft's, its service-URL check
refuses loopback, its error handler posts exception text into the chat, and its turn runs
inside the HTTP request, which our inbox replaces. What would be left is its activity
models and connector client: the few fields we read and the five calls we make fit here,
every request built and parsed by our code and tested against the stand-in.

The bot's token: the client-credentials grant at `teams.token_url` (scope
`https://api.botframework.com/.default`), cached until 5 minutes before it expires.
Every failed call raises `DeliveryFailed` as the outbox wants it: a 429 with its
Retry-After, a 5xx or a network error to try again, any other status for good.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.adapters.teams.config import SCOPE, TeamsConfig
from bot.outbox.transport import DeliveryFailed

TIMEOUT = aiohttp.ClientTimeout(total=15)


class Connector:
    def __init__(self, config: TeamsConfig, session: aiohttp.ClientSession) -> None:
        self._config = config
        self._session = session
        self._tls = config.tls()
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """The bot's own token (cached); raises `DeliveryFailed` (permanent: refused)."""
        return await self._bearer()

    async def _bearer(self) -> str:
        async with self._lock:
            if self._token and time.monotonic() < self._expires:
                return self._token
            form = {
                "grant_type": "client_credentials",
                "client_id": self._config.app_id,
                "client_secret": self._config.secret,
                "scope": SCOPE,
            }
            try:
                async with self._session.post(
                    self._config.token_url, data=form, ssl=self._tls, timeout=TIMEOUT
                ) as response:
                    body = await response.json(content_type=None)
                    if response.status >= 400 or "access_token" not in body:
                        error = str(body.get("error") or response.status)[:40]
                        raise DeliveryFailed(
                            f"token: {error}", permanent=response.status in (400, 401)
                        )
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise DeliveryFailed(f"token: {type(exc).__name__}") from None
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 3600)) - 300
            return self._token

    async def call(
        self, method: str, service_url: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One connector call; `path` below `v3/`. Raises `DeliveryFailed`."""
        if not self._config.service_allowed(service_url):
            raise DeliveryFailed("service URL not allowed", permanent=True)
        url = service_url.rstrip("/") + "/v3/" + path
        headers = {"Authorization": f"Bearer {await self._bearer()}"}
        what = f"{method} {path.split('/')[-1] if method != 'GET' else 'members'}"
        try:
            async with self._session.request(
                method, url, json=body, headers=headers, ssl=self._tls, timeout=TIMEOUT
            ) as response:
                if response.status == 401:
                    self._token = ""  # fetched again next time
                if response.status == 429:
                    wait = response.headers.get("Retry-After", "1")
                    raise DeliveryFailed(
                        f"{what}: HTTP 429", retry_after=float(wait) if wait.isdigit() else 1.0
                    )
                if response.status >= 400:
                    raise DeliveryFailed(
                        f"{what}: HTTP {response.status}",
                        permanent=response.status < 500 and response.status != 401,
                    )
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"{what}: {type(exc).__name__}") from None
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    async def send(self, service_url: str, conversation: str, activity: dict[str, Any]) -> str:
        path = f"conversations/{quote(conversation, safe='')}/activities"
        return str((await self.call("POST", service_url, path, activity)).get("id") or "")

    async def update(
        self, service_url: str, conversation: str, activity_id: str, activity: dict[str, Any]
    ) -> None:
        path = f"conversations/{quote(conversation, safe='')}/activities/{quote(activity_id)}"
        await self.call("PUT", service_url, path, activity | {"id": activity_id})

    async def delete(self, service_url: str, conversation: str, activity_id: str) -> None:
        path = f"conversations/{quote(conversation, safe='')}/activities/{quote(activity_id)}"
        await self.call("DELETE", service_url, path)

    async def personal_chat(self, service_url: str, member_id: str, tenant: str) -> str:
        """The 1:1 chat with a member (created, or the existing one returned)."""
        body = {
            "isGroup": False,
            "bot": {"id": f"28:{self._config.app_id}"},
            "members": [{"id": member_id}],
            "tenantId": tenant,
            "channelData": {"tenant": {"id": tenant}},
        }
        return str((await self.call("POST", service_url, "conversations", body))["id"])

    async def channel_thread(
        self, service_url: str, channel: str, tenant: str, activity: dict[str, Any]
    ) -> str:
        """A new thread in a channel, started by `activity`; its conversation id
        (`<channel>;messageid=<id>`)."""
        body = {
            "isGroup": True,
            "bot": {"id": f"28:{self._config.app_id}"},
            "channelData": {"channel": {"id": channel}, "tenant": {"id": tenant}},
            "tenantId": tenant,
            "activity": activity,
        }
        made = await self.call("POST", service_url, "conversations", body)
        thread = str(made.get("id") or "")
        if ";messageid=" not in thread:
            thread = f"{channel};messageid={made.get('activityId') or ''}"
        return thread

    async def member(self, service_url: str, conversation: str, member_id: str) -> dict[str, Any]:
        path = f"conversations/{quote(conversation, safe='')}/members/{quote(member_id)}"
        return await self.call("GET", service_url, path)
