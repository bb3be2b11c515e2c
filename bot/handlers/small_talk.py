"""Thanks and goodbyes: end politely, offer nothing, log nothing as a knowledge gap."""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn
from bot.messages import Reply
from bot.store.conversations import PendingFlow


class ThanksBye:
    """Say you're welcome and goodbye: `thanks`, `ok bye`, `唔該晒`."""

    intent: ClassVar[str] = "thanks_bye"

    async def handle(self, turn: Turn) -> list[Reply]:
        turn.done()
        return [Reply(turn.t("small_talk.bye"))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
