"""An approver's answer, and the requester's run of an approved reset.

Only the approver the request was sent to may answer, once, before it expires; anyone else's
click is refused and audited. An approved unlock runs at once, in the approver's turn (it
carries no secret); an approved password reset runs when the requester presses "Reset now"
in their own conversation, so the temporary password is shown only to them
(`run_approved_reset`); an approved group access adds the member after checking again.
"""

from __future__ import annotations

from datetime import timedelta

from bot.chat_numbers import whole_number
from bot.i18n import Translator
from bot.integrations.directory import Account, DirectoryError
from bot.selfservice.actions import add_member, perform_reset, perform_unlock
from bot.selfservice.approvals import tell_requester
from bot.selfservice.context import ActionContext, Outcome
from bot.selfservice.guardrails import limited, refusal, refuse_limited
from bot.selfservice.recovery import integration_down, own_account
from bot.store.approvals import Approval

RUN_RESET = "@password_reset:run:"
"""The requester's button after an approval: `@password_reset:run:<approval id>`."""
RUN_PASS = "@new_phone:run:"  # noqa: S105 (a button value, not a secret)
"""The requester's button after their new-phone pass was approved: `@new_phone:run:<id>`."""
RUN_BUTTONS = {"password_reset": RUN_RESET, "mfa_pass": RUN_PASS}
"""Approved actions that carry a secret run in the requester's own conversation."""
RUN_INTENT = {"password_reset": "password_reset", "mfa_pass": "new_phone"}


def check_answer(ctx: ActionContext, approval: Approval, clicker: Account) -> Outcome | None:
    """Why `clicker` may not answer `approval` (audited), or None when they may."""
    if clicker.directory_id != approval.approver_id:
        ctx.audit(
            action=approval.action,
            outcome="refused",
            target=approval.target,
            actor=clicker,
            reason=f"wrong_approver for approval {approval.id}",
            verification="approval",
        )
        return Outcome("approval.not_yours")
    return None


def record_answer(
    ctx: ActionContext, approval: Approval, clicker: Account, approve: bool
) -> Outcome | None:
    """Store the answer; an approval already answered or expired is refused (audited)."""
    services = ctx.services
    lifetime = timedelta(minutes=services.settings.self_service.approval_minutes)
    if (
        approval.state != "pending"
        or services.approvals.expired(approval)
        or not services.approvals.decide(approval.id, approve, lifetime)
    ):
        ctx.audit(
            action=approval.action,
            outcome="refused",
            target=approval.target,
            actor=clicker,
            reason=f"approval {approval.id} already {approval.state} or expired",
            verification="approval",
        )
        return Outcome("approval.closed")
    return None


async def carry_out(
    ctx: ActionContext, approval: Approval, clicker: Account, approve: bool
) -> Outcome:
    """The approver's recorded answer to a self-service request: tell the requester, and for
    an unlock or a group's access act now."""
    services = ctx.services
    requester_t = Translator("zh-Hant" if approval.requester_lang == "zh-Hant" else "en")
    what = requester_t(f"approval.you.{approval.action}", group=approval.subject_name)
    if not approve:
        ctx.audit(
            action=approval.action,
            outcome="denied",
            target=approval.target,
            actor=clicker,
            reason=f"approval {approval.id} denied by {approval.approver_kind}",
            verification="approval",
        )
        text = requester_t("approval.denied", approver=clicker.display_name, what=what)
        tell_requester(ctx, approval, text, [])
        return Outcome("approval.denied_ok", {"email": approval.requester_email})
    ctx.audit(
        action=approval.action,
        outcome="approved",
        target=approval.target,
        actor=clicker,
        reason=f"approval {approval.id} by {approval.approver_kind}",
        verification="approval",
    )
    if approval.action in RUN_BUTTONS:
        tell_requester(
            ctx,
            approval,
            requester_t(
                "approval.approved_reset"
                if approval.action == "password_reset"
                else "approval.approved_pass",
                approver=clicker.display_name,
                minutes=services.settings.self_service.approval_minutes,
            ),
            [
                [
                    requester_t(
                        "approval.run"
                        if approval.action == "password_reset"
                        else "approval.run_pass"
                    ),
                    f"{RUN_BUTTONS[approval.action]}{approval.id}",
                ]
            ],
        )
        return Outcome("approval.approved_ok", {"email": approval.requester_email})
    if approval.action == "group_add":
        added = await add_member(ctx, approval, clicker)
        group = approval.subject_name
        if added.done:
            text = requester_t("group.added", group=group, approver=clicker.display_name)
        else:
            text = requester_t("group.add_failed", group=group, ticket=added.params["ticket"])
        tell_requester(ctx, approval, text, [])
        if added.done:
            return Outcome(added.key, {**added.params, "email": approval.requester_email}, True)
        return added
    # An unlock needs no secret: it runs now, in the approver's turn.
    try:
        target = await services.directory.find_by_id(approval.target)
    except DirectoryError as exc:
        return integration_down(ctx, "unlock", exc)
    services.approvals.use(approval.id)
    unlocked = await perform_unlock(
        ctx, target, clicker, verification="approval", requester_turn=False
    )
    key = "approval.unlocked" if unlocked.done else "approval.unlock_failed"
    tell_requester(ctx, approval, requester_t(key, approver=clicker.display_name), [])
    return unlocked


async def approved_run(
    ctx: ActionContext, raw_id: str, action: str
) -> tuple[Approval, Account] | Outcome:
    """The requester pressed the run button of an approved `action`: the approval and their
    account when it may run now (used up), else the audited refusal."""
    approvals = ctx.services.approvals
    approval_id = whole_number(raw_id)
    approval = approvals.get(approval_id) if approval_id is not None else None
    msg = ctx.msg
    if (
        approval is None
        or approval.action != action
        or (approval.requester_platform, approval.requester_user_id)
        != (msg.platform, msg.actor.user_id)
    ):
        ctx.audit(
            action=action,
            outcome="refused",
            target=None,
            actor=None,
            reason="not_the_requester",
            verification="approval",
        )
        return Outcome("approval.not_yours")
    if approval.state != "approved" or approvals.expired(approval):
        return _run_expired(ctx, approval)
    account = await own_account(ctx, action)
    if not isinstance(account, Account):
        return account
    if account.directory_id != approval.target:
        ctx.audit(
            action=action,
            outcome="refused",
            target=account,
            actor=account,
            reason="target_changed",
            verification="approval",
        )
        return Outcome("unlock.changed", offered=("human",))
    if refused_now := refusal(ctx, account, action):
        return refused_now
    if why := limited(ctx, account, action):
        return refuse_limited(ctx, account, action, why)
    if not approvals.use(approval.id):
        return _run_expired(ctx, approval)
    return approval, account


async def run_approved_reset(ctx: ActionContext, raw_id: str) -> Outcome:
    """The requester pressed "Reset now" after their approver said yes."""
    ready = await approved_run(ctx, raw_id, "password_reset")
    if isinstance(ready, Outcome):
        return ready
    approval, account = ready
    return await perform_reset(
        ctx,
        account,
        account,
        verification="approval",
        reason=f"approval {approval.id} by {approval.approver_kind} {approval.approver_id}",
    )


def _run_expired(ctx: ActionContext, approval: Approval) -> Outcome:
    """The approved action can no longer run (expired, used, or never approved): audited."""
    ctx.audit(
        action=approval.action,
        outcome="refused",
        target=approval.target,
        actor=None,
        reason=f"approval {approval.id} is {approval.state}, expired or used",
        verification="approval",
    )
    return Outcome("approval.run_expired", offered=(RUN_INTENT.get(approval.action, "human"),))
