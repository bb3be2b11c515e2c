"""What a handler is, and the `Turn` it is given.

A handler serves one intent. `handle` answers a fresh message; `resume` answers a
message that arrives while one of its flows waits (`turn.expect(...)` started it)
and returns None when the message is not an answer, so the engine understands it
afresh. A handler's docstring is its help text: the first line is what `help`
shows.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz import fuzz

from bot.i18n import Translator, in_both_languages
from bot.integrations.directory import (
    Account,
    Ambiguous,
    DirectoryError,
    InexactMatch,
    MalformedIdentity,
    NotFound,
)
from bot.integrations.identity import checked, exact_account
from bot.intents import confirmation, yes_or_no
from bot.messages import Choice, Incoming, Recipient, Reply
from bot.redact import SecretContext
from bot.services import Services
from bot.store.audit import AuditEntry
from bot.store.conversations import PendingFlow
from bot.tickets.model import Ticket

INTENT_CHOICE_PREFIX = "intent:"
_NUMBER = re.compile(
    r"^\s*(?:no\.?|#|第)?\s*(\d{1,2}|[一二三四五六七八九十])\s*(?:個|项|項)?\s*[.)]?\s*$"
)
_HAN_NUMBERS = "一二三四五六七八九十"
_FILLER_AROUND = re.compile(
    r"^(?:(?:咁|好|得|係|ok|okay|then|so|yes|yeah|sure)[\s,，]*)+"
    r"|(?:[\s,，]*(?:啦|喇|吖|呀|啊|囉|咯|la|lor|then|pls|please|plz|thanks|thx))+$"
)
"""Words around a typed label that add nothing to it: 「咁申請啦」 picks 「申請」."""


_ACTIONS = frozenset(
    {
        "unlock",
        "password_reset",
        "licence_check",
        "group_check",
        "ticket_status",
        "ticket_cancel",
        "ticket_reopen",
        "ticket_chase",
    }
)
"""Intents that act on the person's account or tickets: a yes that names one asks for it."""
_SURE = 0.8


class IntentPicked(Exception):
    """A typed answer picked one of a flow's intent buttons ("talk to a person" typed under
    articles, or its number): the engine runs `intent` as the click would have."""

    def __init__(self, intent: str) -> None:
        super().__init__(intent)
        self.intent = intent


@dataclass(frozen=True)
class Turn:
    """One message being answered, with everything needed to answer it."""

    msg: Incoming
    t: Translator
    services: Services
    key: str
    request_id: str
    known: dict[str, Account | DirectoryError] = field(
        default_factory=dict, compare=False, repr=False
    )
    """The actor's account (or why it could not be read), read once per message."""

    def expect(
        self,
        flow: str,
        state: dict[str, Any] | None = None,
        *,
        context: SecretContext = SecretContext.NONE,
    ) -> None:
        """Wait for an answer: the next message in this conversation goes to `flow`.

        `context=SecretContext.ASKED_PASSWORD` when the question is about the user's
        password: a bare password typed in answer is then masked too."""
        self.services.conversations.put(
            self.key, PendingFlow(flow, state or {}, self.t.lang, context)
        )

    def done(self) -> None:
        """Stop waiting for an answer."""
        self.services.conversations.clear(self.key)

    def picked(
        self, choices: tuple[Choice, ...], *, yes: str | None = None, no: str | None = None
    ) -> str | None:
        """Which choice the message picks: a clicked value, a number (`2`, full-width `２`,
        `第二個`), the label typed in either language (`Unlock it now` or 「即刻解鎖」), or a
        typed yes / no (`Turn.yes_no`): the value given as `yes` / `no`, else for a yes the
        step the bot proposes when one choice is (its primary button)."""
        msg = self.msg
        values = {c.value for c in choices}
        if msg.choice in values:
            return msg.choice
        text = unicodedata.normalize("NFKC", msg.text).strip().lower().rstrip("!.。！")
        number = _NUMBER.match(text)
        if number:
            digit = number.group(1)
            n = int(digit) if digit.isdecimal() else _HAN_NUMBERS.index(digit) + 1
            return self._intent_or(choices[n - 1].value) if 1 <= n <= len(choices) else None
        bare = _FILLER_AROUND.sub("", text).strip()
        for choice in choices:
            labels = [label.lower() for label in in_both_languages(choice.label)]
            if text and any(fuzz.ratio(text, label) >= 85 for label in labels):
                return self._intent_or(choice.value)
            if bare and bare != text and any(fuzz.ratio(bare, label) >= 85 for label in labels):
                return self._intent_or(choice.value)  # 「咁申請啦」, "ok open ticket pls"
        answer = confirmation(msg.text)
        if answer is not None and (yes if answer else no) is not None:
            return yes if answer else no
        primary = [c for c in choices if c.style == "primary"]
        if len(primary) == 1 and answer and not self._names_an_action():
            return primary[0].value  # "yes" to an offer: the one step it proposes
        return None

    def _names_an_action(self) -> bool:
        """Whether a yes goes on to ask for an action of its own ("yes unlock it pls" under
        articles): the whole reads, surely, as an action on the account or on a ticket. Then
        the yes is not for the step an offer proposes; the message is understood afresh."""
        if yes_or_no(self.msg.text) is not None:
            return False  # a bare yes names nothing
        result = self.services.classifier.classify(self.msg.text)
        return result.intent in _ACTIONS and result.confidence >= _SURE and not result.close

    def _intent_or(self, value: str) -> str:
        """`value`, unless it is an intent's button (`intent_choice`, "Talk to a person")
        typed or picked by number: then `IntentPicked`, and the engine runs that intent as
        if the button were clicked (a click never reaches a flow)."""
        if value.startswith(INTENT_CHOICE_PREFIX):
            raise IntentPicked(value.removeprefix(INTENT_CHOICE_PREFIX))
        return value

    def yes_no(self) -> bool | None:
        """True for a yes ("y", "ok", "好", "yes open it", 「係，幫我解鎖」), False for a no,
        None for anything else (`bot.intents.confirmation`)."""
        return confirmation(self.msg.text)

    async def account(self, action: str = "identity") -> Account:
        """The one directory account behind the actor's verified email (DESIGN rule 1).

        The platform id and the email are checked before any directory call (no control,
        format or whitespace character); the account must have exactly that email as its
        mail or UPN, and be the only one that has it. Each refusal (`MalformedIdentity`,
        `Ambiguous`, `InexactMatch`, `NotFound`) writes one audit record for `action` and
        is raised for the error boundary, which explains it to the user.

        The answer is kept for the rest of the message (`known`): one directory read per
        message however many parts of the answer need the account.
        """
        cached = self.known.get("account")
        if isinstance(cached, DirectoryError):
            raise cached
        if cached is not None:
            return cached
        try:
            account = await self._find_account(action)
        except DirectoryError as exc:
            self.known["account"] = exc
            raise
        self.known["account"] = account
        return account

    async def _find_account(self, action: str) -> Account:
        actor = self.msg.actor
        try:
            checked(actor.user_id, "the platform id")
            if not actor.email:
                raise NotFound("the platform gave no verified email", email="?")
            if actor.entra_id and self.services.settings.directory.backend == "graph":
                found = await self.services.directory.find_by_id(
                    checked(actor.entra_id, "the verified object id")
                )
                return exact_account(found, checked(actor.email, "the verified email"))
            # checked here and again by every backend: no directory call sees a bad value
            return await self.services.directory.find_by_email(
                checked(actor.email, "the verified email")
            )
        except (MalformedIdentity, Ambiguous, InexactMatch, NotFound) as exc:
            reason = {
                MalformedIdentity: "malformed_identity",
                Ambiguous: "shared_address",
                InexactMatch: "inexact_match",
            }.get(type(exc), "not_found")
            self.audit(
                action=action,
                outcome="refused",
                target=None,
                actor=None,
                reason=f"{reason}: {exc.detail}",
            )
            if isinstance(exc, MalformedIdentity | Ambiguous):
                # A hidden character in a verified identity points at tampering; a shared
                # address at a directory to fix. Once per person, reason and day.
                day = self.services.clock().date().isoformat()
                self.alert_security(
                    f"identity:{self.msg.platform}:{actor.user_id!a}:{reason}:{day}",
                    f"Refused {action} for {actor.platform} user {actor.user_id!a}"
                    f" ({reason}): verified email {actor.email!a}"
                    f" (request {self.request_id}).",
                    {"action": action, "reason": reason},
                )
            if isinstance(exc, NotFound):
                raise NotFound(exc.detail, email=actor.email or "?") from None
            raise

    async def requester(self) -> Account | None:
        """The actor's account, for a ticket they open; None when it cannot be known (the
        directory is down, or the identity was refused - that refusal is audited). The
        ticket opens either way; without an id no engineer can act on an account for it."""
        try:
            return await self.account("ticket_requester")
        except DirectoryError:
            return None

    def alert_security(self, key: str, text: str, data: dict[str, object]) -> None:
        """Queue one alert to the security channel (`key` makes it once only)."""
        channel = self.services.settings.self_service.security_channel
        self.services.outbox.put(
            f"security:{key}",
            "security_alert",
            Recipient.channel(channel),
            {"text": text, "choices": [], **data},
        )

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
    ) -> None:
        """Write one audit record for this turn (actor, target, outcome, request id).

        `target` is an account or just its directory id."""
        self.services.audit.append(
            AuditEntry(
                actor_platform=self.msg.platform,
                actor_id=self.msg.actor.user_id,
                actor_directory_id=actor.directory_id if actor else None,
                target=target.directory_id if isinstance(target, Account) else target,
                action=action,
                verification=verification,
                outcome=outcome,
                reason=reason,
                ticket=ticket,
                request_id=self.request_id,
            )
        )

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
        fault: bool = True,
    ) -> tuple[Ticket, bool]:
        """Open a ticket for the actor with this conversation's recent transcript attached.

        `fault=False` for a request (a monitor, a licence): requests are never grouped into
        a major incident, however many arrive together.

        `requester` is the actor's directory account when it is known: its immutable id is
        what an engineer's action for this ticket is checked against (never the email).
        `key` makes it idempotent: the same key never opens a second ticket.
        """
        msg = self.msg
        return self.services.tickets.open(
            requester_email=msg.actor.email or "unknown",
            requester_directory_id=requester.directory_id if requester else None,
            requester_platform=msg.platform,
            requester_user_id=msg.actor.user_id,
            summary=summary,
            description=description,
            category=category,
            priority=priority,
            impact=impact,
            urgency=urgency,
            conversation=msg.conversation_id,
            lang=self.t.lang,
            transcript=self.services.transcripts.recent(self.key),
            idempotency_key=key,
            fault=fault,
        )

    def local_time(self, moment: datetime) -> str:
        """A time as the user reads it, in their own time zone (else the bot's): `21 Nov 2026 09:12`
        in English, `2026年11月21日 09:12` in Chinese."""
        zone = self.services.timezone
        if self.msg.actor.timezone:
            # an unknown zone from the platform leaves the bot's own
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                zone = ZoneInfo(self.msg.actor.timezone)
        local = moment.astimezone(zone)
        if self.t.lang == "zh-Hant":
            return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
        return local.strftime("%d %b %Y %H:%M")


class Handler(Protocol):
    """A capability of the bot, serving one intent. Its docstring is its help text."""

    intent: ClassVar[str]

    async def handle(self, turn: Turn) -> list[Reply]: ...

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None: ...


def intent_choice(t: Translator, intent: str) -> Choice:
    return Choice(t(f"menu.{intent}"), INTENT_CHOICE_PREFIX + intent)


def human_choice(t: Translator) -> Choice:
    return intent_choice(t, "human")


def menu(t: Translator) -> tuple[Choice, ...]:
    """The main actions, offered after a greeting, an error or a cancel."""
    return tuple(
        intent_choice(t, intent)
        for intent in ("unlock", "password_reset", "ticket_status", "human")
    )
