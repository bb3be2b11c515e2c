"""What a self-service action is given, and what it gives back.

An action never sees a chat turn or builds a chat reply: it is given an `ActionContext`
(the handler's `Turn` is one) and returns an `Outcome`, a catalogue key with its
parameters, which the handler turns into a reply (`bot.handlers.outcomes.said`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.i18n import Translator
from bot.integrations.directory import Account
from bot.messages import Incoming
from bot.services import Services
from bot.tickets.model import Ticket


class ActionContext(Protocol):
    """The message being answered and the services, as a self-service action needs them."""

    @property
    def msg(self) -> Incoming: ...

    @property
    def t(self) -> Translator: ...

    @property
    def services(self) -> Services: ...

    @property
    def request_id(self) -> str: ...

    async def account(self, action: str = "identity") -> Account:
        """The actor's one directory account (DESIGN rule 1; refusals audited and raised)."""
        ...

    def alert_security(self, key: str, text: str, data: dict[str, object]) -> None: ...

    def audit(
        self,
        *,
        action: str,
        outcome: str,
        target: Account | str | None,
        actor: Account | None,
        reason: str = "",
        verification: str = "none",
        ticket: str | None = None,
    ) -> None: ...

    def open_ticket(
        self,
        *,
        summary: str,
        description: str,
        category: str,
        key: str,
        priority: str | None = None,
        impact: str = "single",
        urgency: str = "medium",
        requester: Account | None = None,
    ) -> tuple[Ticket, bool]: ...

    def local_time(self, moment: datetime) -> str: ...


@dataclass(frozen=True)
class Outcome:
    """What an action or a refusal tells the person who asked: the catalogue `key` and its
    `params`, whether the action was `done`, the intents `offered` as next steps ("human":
    talk to a person), and for a secret `private` with `delete_after_s`. `params` may hold
    a secret: it is kept out of `repr` and exists only until the reply is sent."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict, repr=False)
    done: bool = False
    offered: tuple[str, ...] = ()
    private: bool = False
    delete_after_s: int | None = None


def refused(key: str, **params: object) -> Outcome:
    """A refusal: its message, with "talk to a person" offered."""
    return Outcome(key, params, offered=("human",))
