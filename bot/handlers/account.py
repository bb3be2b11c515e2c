"""Account self-service conversations: "my account is locked", "why can't I log in?",
"reset my password", and an approver's answer.

These are thin: the checks, the actions, the approvals and what happens when the
directory is down live in `bot.selfservice` (its package docstring lists the safety rules);
a handler asks, reads the answer, and says the `Outcome` (`bot.handlers.outcomes.said`).
Every refusal writes one audit record (`tests/test_refusals.py` drives each one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from bot.chat_numbers import whole_number
from bot.handlers.base import Turn, human_choice, intent_choice
from bot.handlers.outcomes import said
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import Account
from bot.messages import Choice, Reply
from bot.redact import SecretContext
from bot.selfservice.actions import perform_unlock
from bot.selfservice.approval_answers import (
    RUN_RESET,
    carry_out,
    check_answer,
    record_answer,
    run_approved_reset,
)
from bot.selfservice.approval_ask import APPROVE
from bot.selfservice.approvals import request_approval
from bot.selfservice.guardrails import limited, refusal, refuse_federated, refuse_limited
from bot.selfservice.lock_cause import explain_lockout
from bot.selfservice.recovery import own_account
from bot.store.approvals import Approval
from bot.store.conversations import PendingFlow

_GUIDE = "password:guide"
_TICKET = "password:ticket"
_RESET_NOW = "password:reset"
_UNLOCK_YES = "unlock:yes"
_UNLOCK_NO = "unlock:no"
"""The approver's buttons: `@approval:approve:<id>:<nonce>`, `@approval:deny:<id>:<nonce>`."""


class Unlock:
    """Unlock your own account, or find out why you can't sign in: `my account is locked`."""

    intent: ClassVar[str] = "unlock"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await own_account(turn, "unlock")
        if not isinstance(account, Account):
            return said(turn, account)
        if refused := refusal(turn, account, "unlock"):
            return said(turn, refused)
        if not account.locked:
            turn.audit(action="account_status", outcome="done", target=account, actor=account)
            last_set = (
                "\n" + t("password.last_set", when=turn.local_time(account.password_last_set))
                if account.password_last_set and not account.must_change_password
                else ""
            )
            return [
                Reply(
                    t("unlock.not_locked") + "\n" + password_status(turn, account) + last_set,
                    choices=(intent_choice(t, "password_reset"), human_choice(t)),
                    private=True,
                )
            ]
        since = (
            t("unlock.since", when=turn.local_time(account.locked_at)) if account.locked_at else ""
        )
        until = (
            " " + t("unlock.until", when=turn.local_time(account.locked_until))
            if account.locked_until
            else ""
        )
        cause = await explain_lockout(turn, account)
        if cause is not None:
            until += "\n" + t(cause.key, **cause.params)
        turn.expect(
            "unlock.confirm",
            {"target": account.directory_id},
            context=SecretContext.ASKED_PASSWORD,
        )
        yes = (
            "unlock.yes_approval"
            if turn.services.settings.self_service.unlock_verification == "approval"
            else "unlock.yes"
        )
        return [
            Reply(
                t("unlock.locked", since=since) + until,
                choices=(
                    Choice(t(yes), _UNLOCK_YES, "primary"),
                    Choice(t("unlock.no"), _UNLOCK_NO),
                ),
                private=True,
            )
        ]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t = turn.t
        picked = turn.picked(
            (Choice(t("unlock.yes"), _UNLOCK_YES), Choice(t("unlock.no"), _UNLOCK_NO)),
            yes=_UNLOCK_YES,
            no=_UNLOCK_NO,
        )
        if picked is None:
            return None
        turn.done()
        if picked == _UNLOCK_NO:
            return [Reply(t("unlock.declined"))]
        # Look the account up again: it must still be the actor's, and its state may have changed.
        account = await own_account(turn, "unlock")
        if not isinstance(account, Account):
            return said(turn, account)
        if account.directory_id != pending.state.get("target"):
            turn.audit(
                action="unlock",
                outcome="refused",
                target=account,
                actor=account,
                reason="target_changed",
            )
            return [Reply(t("unlock.changed"), choices=(human_choice(t),))]
        if turn.services.settings.self_service.unlock_verification == "approval":
            if refused := refusal(turn, account, "unlock"):
                return said(turn, refused)
            if not account.locked:
                return [Reply(t("unlock.already"))]
            return said(turn, await request_approval(turn, account, "unlock"))
        return said(turn, await perform_unlock(turn, account, account, verification="none"))


# -- password status and reset ----------------------------------------------------------------


def password_status(turn: Turn, account: Account) -> str:
    """One or two sentences on the account's password: expired, must change, or when it expires."""
    t = turn.t
    now = turn.services.clock()
    if account.must_change_password:
        return t("password.must_change")
    if account.password_expires is not None and account.password_expires <= now:
        return t("password.expired", when=turn.local_time(account.password_expires))
    if account.password_expires is not None:
        days = (account.password_expires - now).days
        return t("password.expires", when=turn.local_time(account.password_expires), days=days)
    return t("password.never_expires")


class PasswordReset:
    """Reset a forgotten password (your manager approves), or learn how to change it:
    `reset my password`."""

    intent: ClassVar[str] = "password_reset"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        if turn.msg.choice and turn.msg.choice.startswith(RUN_RESET):
            raw_id = turn.msg.choice.removeprefix(RUN_RESET)
            return said(turn, await run_approved_reset(turn, raw_id))
        account = await own_account(turn, "password_reset")
        if not isinstance(account, Account):
            return said(turn, account)
        if refused := refusal(turn, account, "password_reset"):
            return said(turn, refused)
        if account.federated:
            return said(turn, refuse_federated(turn, account))
        lines = [password_status(turn, account)]
        if account.locked:
            lines.append(t("password.also_locked"))
        if account.source == "cloud":
            lines.append(t("password.how_cloud"))
        else:
            lines.append(t("password.how_onprem"))
        tap = account.source == "cloud" and turn.services.settings.graph.cloud_recovery == "tap"
        lines.append(t("password.forgot_tap" if tap else "password.forgot_reset"))
        turn.audit(action="password_status", outcome="done", target=account, actor=account)
        state = {"resettable": True, "tap": tap, "locked": account.locked}
        turn.expect("password_reset.next", state, context=SecretContext.ASKED_PASSWORD)
        return [Reply("\n".join(lines), choices=self._choices(t, state), private=True)]

    @staticmethod
    def _choices(t: Translator, state: Mapping[str, object]) -> tuple[Choice, ...]:
        unlock = (intent_choice(t, "unlock"),) if state.get("locked") else ()
        label = t("password.tap_now") if state.get("tap") else t("password.reset_now")
        reset = (Choice(label, _RESET_NOW, "primary"),) if state.get("resettable") else ()
        return (
            *unlock,
            *reset,
            Choice(t("password.guide"), _GUIDE),
            Choice(t("password.ticket"), _TICKET),
            human_choice(t),
        )

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t = turn.t
        picked = turn.picked(self._choices(t, pending.state))
        if picked == _RESET_NOW:
            turn.done()
            account = await own_account(turn, "password_reset")
            if not isinstance(account, Account):
                return said(turn, account)
            if refused := refusal(turn, account, "password_reset"):
                return said(turn, refused)
            if account.federated:
                return said(turn, refuse_federated(turn, account))
            if why := limited(turn, account, "password_reset"):
                return said(turn, refuse_limited(turn, account, "password_reset", why))
            return said(turn, await request_approval(turn, account, "password_reset"))
        if picked == _GUIDE:
            turn.done()
            kb = turn.services.kb
            article = kb.get(turn.services.settings.kb.password_article)
            if article is None:
                return [Reply(t("kb.gone"), choices=(human_choice(t),))]
            article = kb.in_language(article, t.lang)
            return [Reply(f"**{article.title}**\n\n{article.body}", choices=(human_choice(t),))]
        if picked == _TICKET:
            return await propose_ticket(
                turn,
                summary="Forgotten password: identity check and reset needed",
                description=t("password.ticket_description"),
                category="account & access",
            )
        return None


class Decider(Protocol):
    """Finishes an approved or denied request of another kind (a catalogue request): given
    to `ApprovalAnswer` by the handler registry, so this module imports none of the
    handlers built on it."""

    def __call__(
        self, turn: Turn, approval: Approval, approver: Account, *, approve: bool
    ) -> list[Reply]: ...


class ApprovalAnswer:
    """Approve or deny a colleague's self-service request (the buttons you were sent)."""

    intent: ClassVar[str] = "approval"

    def __init__(self, deciders: Mapping[str, Decider] | None = None) -> None:
        self._deciders = dict(deciders or {})

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        services = turn.services
        parts = (turn.msg.choice or "").removeprefix(APPROVE).split(":")
        well_formed = len(parts) == 3 and parts[0] in ("approve", "deny")
        approval_id = whole_number(parts[1]) if well_formed else None
        verb, raw_id, nonce = parts if approval_id is not None else ("", "?", "")
        approval = services.approvals.get(approval_id) if approval_id is not None else None
        if approval is None or not services.approvals.nonce_matches(approval.id, nonce):
            turn.audit(
                action="approval",
                outcome="refused",
                target=None,
                actor=None,
                reason=f"bad nonce for approval {raw_id}",
                verification="approval",
            )
            return [Reply(t("approval.invalid"))]
        return await self.decide(turn, approval, verb)

    async def decide(self, turn: Turn, approval: Approval, verb: str) -> list[Reply]:
        """The actor approves (`verb` "approve") or denies `approval`, if it is theirs to answer."""
        clicker = await own_account(turn, "approval")
        if not isinstance(clicker, Account):
            return said(turn, clicker)
        approve = verb == "approve"
        if (no := check_answer(turn, approval, clicker)) or (
            no := record_answer(turn, approval, clicker, approve)
        ):
            return said(turn, no)
        decider = self._deciders.get(approval.action)
        if decider is not None:
            return decider(turn, approval, clicker, approve=approve)
        return said(turn, await carry_out(turn, approval, clicker, approve))

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
