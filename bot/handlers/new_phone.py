"""New or lost phone: "I got a new phone and can't approve sign-ins", 「換咗新電話，
Authenticator 用唔到」.

Shows the person's sign-in methods (kinds and names, never a secret), then offers a
one-time pass for the new phone (the manager approves; the pass is shown once, privately,
when the person presses the button the approval sends them) and, once the new phone is
registered, removing the old phone's Authenticator. The rules are in
`bot.selfservice.new_phone`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bot.handlers.base import Turn, human_choice
from bot.handlers.outcomes import said
from bot.i18n import Translator, catalogue
from bot.integrations.directory import Account, SignInMethod
from bot.messages import Choice, Reply
from bot.selfservice.approval_answers import RUN_PASS
from bot.selfservice.approvals import request_approval
from bot.selfservice.context import Outcome
from bot.selfservice.guardrails import limited, refusal, refuse_limited
from bot.selfservice.new_phone import (
    MFA_PASS,
    methods,
    old_phone,
    remove_old_phone,
    run_approved_pass,
)
from bot.selfservice.recovery import own_account
from bot.store.conversations import PendingFlow

_ASK_APPROVAL = "phone:pass"
_REMOVE = "phone:remove"


def _kind(t: Translator, method: SignInMethod) -> str:
    key = f"phone.kind.{method.kind}"
    return t(key) if key in catalogue(t.lang) else method.kind


class NewPhone:
    """New or lost phone: your sign-in methods, a one-time pass for the new phone (your
    manager approves), removing the old one: `I got a new phone`, `換咗新電話`."""

    intent: ClassVar[str] = "new_phone"

    @staticmethod
    def _choices(t: Translator, state: Mapping[str, object]) -> tuple[Choice, ...]:
        remove = (
            (Choice(t("phone.remove_old", name=state["old_name"]), _REMOVE),)
            if state.get("old")
            else ()
        )
        return (Choice(t("phone.get_pass"), _ASK_APPROVAL, "primary"), *remove, human_choice(t))

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        if turn.msg.choice and turn.msg.choice.startswith(RUN_PASS):
            return said(turn, await run_approved_pass(turn, turn.msg.choice.removeprefix(RUN_PASS)))
        account = await own_account(turn, "mfa_methods")
        if not isinstance(account, Account):
            return said(turn, account)
        if refused_now := refusal(turn, account, MFA_PASS):
            return said(turn, refused_now)
        found = await methods(turn, account)
        if isinstance(found, Outcome):
            return said(turn, found)
        lines = [t("phone.intro") if found else t("phone.no_methods")]
        for method in found:
            since = (
                " " + t("phone.since", when=turn.local_time(method.created))
                if method.created
                else ""
            )
            lines.append(f"• {_kind(t, method)}: {method.name}{since}")
        old = old_phone(found)
        lines.append(t("phone.offer_remove", name=old.name) if old else t("phone.offer"))
        state = {"old": old.method_id if old else "", "old_name": old.name if old else ""}
        turn.expect("new_phone.next", state)
        return [Reply("\n".join(lines), choices=self._choices(t, state), private=True)]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        picked = turn.picked(self._choices(turn.t, pending.state))
        if picked not in (_ASK_APPROVAL, _REMOVE):
            return None
        turn.done()
        account = await own_account(turn, MFA_PASS)
        if not isinstance(account, Account):
            return said(turn, account)
        if picked == _REMOVE:
            return said(turn, await remove_old_phone(turn, account, str(pending.state["old"])))
        if refused_now := refusal(turn, account, MFA_PASS):
            return said(turn, refused_now)
        if why := limited(turn, account, MFA_PASS):
            return said(turn, refuse_limited(turn, account, MFA_PASS, why))
        return said(turn, await request_approval(turn, account, MFA_PASS))
