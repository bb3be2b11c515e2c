"""The bot's capabilities, one handler per intent, registered explicitly here.

To add one: write a class with `intent`, `handle`, `resume` and a docstring (its
help text), add examples for the intent in `bot/intents/examples.toml`, its
messages in `bot/locales/*.toml`, and list an instance below.
"""

from __future__ import annotations

from bot.handlers.account import ApprovalAnswer, PasswordReset, Unlock
from bot.handlers.base import Handler, Turn
from bot.handlers.commands import Commands
from bot.handlers.directory_checks import GroupCheck, LicenceCheck
from bot.handlers.greeting import Greeting
from bot.handlers.knowledge import Knowledge
from bot.handlers.tickets import Human, TicketStatus


def default_handlers() -> tuple[Handler, ...]:
    handlers: tuple[Handler, ...] = (
        Greeting(),
        Knowledge(),
        Human(),
        TicketStatus(),
        Unlock(),
        PasswordReset(),
        LicenceCheck(),
        GroupCheck(),
    )
    return (*handlers, ApprovalAnswer(), Commands({h.intent: h for h in handlers}))


__all__ = ["Handler", "Turn", "default_handlers"]
