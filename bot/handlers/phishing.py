"""A suspicious email: "is this phishing?", 「收到封email叫我click link改密碼，係咪phishing」,
"I think I clicked a phishing link".

A message that already says the link was clicked or a password typed goes straight to the
incident; otherwise the bot asks. Not clicked: guidance (Outlook's Report button, don't
reply) and a security ticket. Clicked: a P1 for security at once, then, only if the person
says yes, their sessions are revoked and a password change forced
(`bot.selfservice.phishing`, where each step is audited and alerted).
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar

from bot.handlers.base import Turn
from bot.handlers.outcomes import said
from bot.integrations.directory import Account
from bot.messages import Choice, Reply
from bot.selfservice.context import Outcome
from bot.selfservice.phishing import CONTAIN, contain, open_incident, report_phish
from bot.selfservice.recovery import own_account
from bot.store.conversations import PendingFlow

_NO_CLICK = "phishing:no_click"
_CLICKED = "phishing:clicked"
_TYPED = "phishing:typed"
_CONTAIN = "phishing:contain"
_WAIT = "phishing:wait"

_NOT = r"(?:didn'?t|did not|haven'?t|have not|never|not|don'?t|冇|無|未|唔)\s*(?:有\s*)?"
_CLICK_WORDS = r"(?:click|clik|tap|open|follow|press|撳|㩒|禁|按|點|開)"
_NEGATED_CLICK = re.compile(_NOT + r"(?:\w+\s+){0,2}" + _CLICK_WORDS, re.IGNORECASE)
_TYPED_PASSWORD = re.compile(
    r"(?:typed|entered|put|keyed|gave|filled|submitted|logged)\s+(?:in\s+)?(?:my\s+)?"
    r"(?:password|passwd|pw|credentials|login|details|username)"
    r"|(?:入|打|輸入|填|俾)(?:咗|了)\s*(?:我\s*)?(?:個\s*)?(?:密碼|password|pw|login)"
    r"|(?:密碼|password|pw)\s*(?:都|亦)?\s*(?:入|打|輸入|填)(?:咗|了)",
    re.IGNORECASE,
)
_CLICKED_LINK = re.compile(
    r"\b(?:clicked|clicked on|tapped|opened the link|followed the link|pressed the link)\b"
    r"|(?:click|clik|撳|㩒|禁|按|點|open)(?:咗|了)",
    re.IGNORECASE,
)


def _said_clicked(text: str) -> tuple[bool, bool]:
    """(clicked, typed a password) as the message says it; a negated click is no click."""
    folded = unicodedata.normalize("NFKC", text)
    typed = bool(_TYPED_PASSWORD.search(folded))
    clicked = typed or (bool(_CLICKED_LINK.search(folded)) and not _NEGATED_CLICK.search(folded))
    return clicked, typed


class Phishing:
    """Report a suspicious email, or tell us you clicked one: `is this email phishing?`,
    `I clicked a link in a scam email`."""

    intent: ClassVar[str] = "phishing"

    @staticmethod
    def _asked(turn: Turn) -> tuple[Choice, ...]:
        t = turn.t
        return (
            Choice(t("phishing.no_click"), _NO_CLICK),
            Choice(t("phishing.clicked"), _CLICKED),
            Choice(t("phishing.typed"), _TYPED),
        )

    @staticmethod
    def _offer(turn: Turn) -> tuple[Choice, ...]:
        t = turn.t
        return (
            Choice(t("phishing.contain_yes"), _CONTAIN, "primary"),
            Choice(t("phishing.contain_no"), _WAIT),
        )

    async def handle(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text
        clicked, typed = _said_clicked(text)
        if clicked:
            return await self._incident(turn, text, typed)
        turn.expect("phishing.clicked", {"said": text})
        return [Reply(turn.t("phishing.ask"), choices=self._asked(turn), private=True)]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        said_before = str(pending.state.get("said", ""))
        if pending.flow == "phishing.clicked":
            picked = turn.picked(self._asked(turn), no=_NO_CLICK)
            if picked is None:
                return None
            turn.done()
            if picked == _NO_CLICK:
                account = await turn.requester()
                ref = report_phish(turn, account, said_before)
                return [Reply(turn.t("phishing.guidance", ticket=ref))]
            return await self._incident(turn, said_before, picked == _TYPED)
        if pending.flow == "phishing.contain":
            picked = turn.picked(self._offer(turn), yes=_CONTAIN, no=_WAIT)
            if picked is None:
                return None
            turn.done()
            return await self._contain(turn, pending, picked == _CONTAIN)
        return None

    async def _incident(self, turn: Turn, text: str, typed: bool) -> list[Reply]:
        account = await turn.requester()
        ref = open_incident(turn, account, text, typed)
        if account is None:
            phone = turn.services.settings.bot.support_phone
            return [Reply(turn.t("phishing.incident_no_account", ticket=ref, phone=phone))]
        turn.expect("phishing.contain", {"ticket": ref, "target": account.directory_id})
        return [Reply(turn.t("phishing.incident", ticket=ref), choices=self._offer(turn))]

    async def _contain(self, turn: Turn, pending: PendingFlow, yes: bool) -> list[Reply]:
        ticket = str(pending.state.get("ticket", ""))
        account = await own_account(turn, CONTAIN)
        if not isinstance(account, Account):
            return said(turn, account)
        if account.directory_id != pending.state.get("target"):
            turn.audit(
                action=CONTAIN,
                outcome="refused",
                target=account,
                actor=account,
                reason="target_changed",
                ticket=ticket,
            )
            return said(turn, Outcome("unlock.changed", offered=("human",)))
        if not yes:
            turn.audit(
                action=CONTAIN,
                outcome="declined",
                target=account,
                actor=account,
                reason="the user said no",
                ticket=ticket,
            )
            return [Reply(turn.t("phishing.declined", ticket=ticket))]
        return said(turn, await contain(turn, account, ticket))
