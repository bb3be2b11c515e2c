"""Greeting and help."""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn, menu
from bot.intents import INTENTS
from bot.messages import Reply
from bot.store.conversations import PendingFlow


class Greeting:
    """Say hello and show what I can do: `hi`, `help`, `你好`."""

    intent: ClassVar[str] = "greeting"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        name = turn.msg.actor.display_name
        hello = t("greeting.hello_name", name=name) if name else t("greeting.hello")
        listed = (i for i in INTENTS if i not in (self.intent, "thanks_bye"))
        abilities = "\n".join(f"• {t(f'help.{i}')}" for i in listed)
        return [Reply(f"{hello}\n{t('greeting.capabilities')}\n{abilities}", choices=menu(t))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
