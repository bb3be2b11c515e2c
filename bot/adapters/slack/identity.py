"""Who a Slack user is: the verified email `users.info` returns (cached for
`slack.user_cache_minutes`), their display name, time zone and language. Bots, deleted
users, guests (restricted accounts) and unconfirmed emails get no email: they can read
articles and open tickets, never act on an account. Also the DM channel with a user."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.config import slack_error
from bot.messages import Actor, Lang

log = logging.getLogger(__name__)

_MENTIONED = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def lang_of(locale: str | None) -> Lang:
    return "zh-Hant" if (locale or "").lower().startswith("zh") else "en"


@dataclass
class Person:
    actor: Actor
    lang: Lang
    expires: float


@dataclass
class People:
    client: AsyncWebClient
    cache_s: float
    bot_user: str = ""
    _people: dict[str, Person] = field(default_factory=dict)
    _dms: dict[str, str] = field(default_factory=dict)

    async def person(self, user: str) -> Person:
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
            lang = lang_of(info.get("locale"))
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
        person = Person(
            Actor("slack", user, email, display, timezone=zone or None), lang, now + self.cache_s
        )
        if info:
            self._people[user] = person
        return person

    async def names(self, text: str) -> dict[str, str]:
        """The users mentioned in a text, by id: their email (for `assign … <@U…>`)."""
        names: dict[str, str] = {self.bot_user: ""} if self.bot_user else {}
        for user in set(_MENTIONED.findall(text)) - set(names):
            person = await self.person(user)
            if person.actor.email:
                names[user] = person.actor.email
        return names

    async def dm(self, user: str) -> str:
        """The DM channel with `user` (opened once, then remembered)."""
        if user not in self._dms:
            opened = await self.client.conversations_open(users=user)
            self._dms[user] = str(opened["channel"]["id"])
        return self._dms[user]
