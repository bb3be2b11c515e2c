"""The bot's capabilities, one handler per intent, registered explicitly here.

To add one: write a class with `intent`, `handle`, `resume` and a docstring (its
help text), add the intent to `INTENTS` (`bot/intents/training_data.py`) and examples for it in
`bot/intents/examples.toml`, its
messages in `bot/locales/*.toml`, and list an instance below.
"""

from __future__ import annotations

from bot.handlers.account import ApprovalAnswer, PasswordReset, Unlock
from bot.handlers.base import Handler, Turn
from bot.handlers.catalogue_requests import decide as decide_catalogue_request
from bot.handlers.commands import Commands
from bot.handlers.directory_checks import GroupCheck, LicenceCheck
from bot.handlers.greeting import Greeting
from bot.handlers.knowledge import Knowledge
from bot.handlers.my_device import MyDevice
from bot.handlers.new_phone import NewPhone
from bot.handlers.outage import UrgentOutage
from bot.handlers.phishing import Phishing
from bot.handlers.requests import Request
from bot.handlers.small_talk import ThanksBye
from bot.handlers.ticket_requests import TicketCancel, TicketChase, TicketRate, TicketReopen
from bot.handlers.tickets import Human, TicketStatus
from bot.handlers.typed_approval import TypedApproval


def default_handlers() -> tuple[Handler, ...]:
    handlers: tuple[Handler, ...] = (
        Greeting(),
        ThanksBye(),
        Knowledge(),
        Human(),
        TicketStatus(),
        TicketCancel(),
        TicketReopen(),
        TicketChase(),
        Unlock(),
        PasswordReset(),
        LicenceCheck(),
        GroupCheck(),
        Request(),
        UrgentOutage(),
        Phishing(),
        MyDevice(),
        NewPhone(),
    )
    approvals = ApprovalAnswer({"catalogue_request": decide_catalogue_request})
    return (
        *handlers,
        approvals,
        TypedApproval(approvals),
        TicketRate(),
        Commands({h.intent: h for h in handlers}),
    )


__all__ = ["Handler", "Turn", "default_handlers"]
