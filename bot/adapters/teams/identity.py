"""Who sent an activity: the member as the Bot Connector vouches for them.

The activity's `from.aadObjectId` comes inside a request whose token we verified; the
UPN comes from the connector's member API (`GET /v3/conversations/{id}/members/{member}`,
the lookup that returns `userPrincipalName` as a field), asked with the bot's own token.
Both must agree (the member's `aadObjectId` is the activity's) and the member must be in
our tenant; a guest (`#EXT#` in the UPN) or a failed lookup gets no email, so no account
action, as Slack's guests. Answers are cached for `teams.user_cache_minutes`. Never a
name typed in chat.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.adapters.teams.connector import Connector
from bot.messages import Actor, Lang
from bot.outbox.transport import DeliveryFailed

log = logging.getLogger(__name__)


def lang_of(locale: str | None) -> Lang:
    return "zh-Hant" if (locale or "").lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Member:
    """The verified sender: `id` is the Teams member id ("29:…"), `actor.user_id` the
    Entra object id."""

    id: str
    actor: Actor


class People:
    def __init__(self, connector: Connector, tenant: str, cache_s: float) -> None:
        self._connector = connector
        self._tenant = tenant
        self._cache_s = cache_s
        self._known: dict[str, tuple[float, Member]] = {}

    async def member(
        self, service_url: str, conversation: str, member_id: str, aad: str, name: str
    ) -> Member:
        cached = self._known.get(member_id)
        if cached is not None and cached[0] > time.monotonic() and cached[1].actor.user_id == aad:
            return cached[1]
        email: str | None = None
        try:
            found = await self._connector.member(service_url, conversation, member_id)
        except DeliveryFailed as failed:
            log.warning("Teams member lookup failed: %s", failed.reason)
            found = {}
        upn = str(found.get("userPrincipalName") or "")
        same = str(found.get("aadObjectId") or "") == aad and bool(aad)
        tenant_ok = str(found.get("tenantId") or self._tenant) == self._tenant
        if same and tenant_ok and upn and "#ext#" not in upn.lower():
            email = upn.lower()
        elif found:
            log.warning("Teams member not trusted for account actions (guest or mismatch)")
        actor = Actor("teams", aad or member_id, email, name, entra_id=aad if email else None)
        member = Member(member_id, actor)
        if found:
            self._known[member_id] = (time.monotonic() + self._cache_s, member)
        return member
