"""Asking an approver: one pending approval, its Approve / Deny buttons sent privately to
the approver, and the audit record that says so.

Self-service actions (`bot.selfservice.approvals.request_approval`) and catalogue requests
(`bot.handlers.catalogue_requests`) both ask this way; they differ only in what the
approver reads and how long the answer may take. The nonce travels only in the buttons
(the store keeps its hash), and the notice is scrubbed once delivered.
"""

from __future__ import annotations

from datetime import timedelta

from bot.integrations.directory import Account
from bot.messages import Recipient
from bot.selfservice.context import ActionContext
from bot.store.approvals import Approval

APPROVE = "@approval:"
"""Button values `@approval:approve|deny:<id>:<nonce>` go to the approval handler."""


def ask_approver(
    ctx: ActionContext,
    account: Account,
    approver: Account,
    kind: str,
    *,
    action: str,
    lifetime: timedelta,
    text: str,
    subject: str = "",
    subject_name: str = "",
    reason: str = "",
    ticket: str | None = None,
) -> Approval:
    """Store a pending approval of `action` for `account`, send `approver` (found as `kind`:
    manager, on-call, group owner) `text` with Approve / Deny, and audit the request."""
    t, services, msg = ctx.t, ctx.services, ctx.msg
    approval, nonce = services.approvals.create(
        action=action,
        requester_platform=msg.platform,
        requester_user_id=msg.actor.user_id,
        requester_email=account.email,
        requester_lang=t.lang,
        target=account.directory_id,
        approver_email=approver.email,
        approver_id=approver.directory_id,
        approver_kind=kind,
        lifetime=lifetime,
        subject=subject,
        subject_name=subject_name,
    )
    services.outbox.put(
        f"approval:{approval.id}",
        "notice",
        Recipient.by_email(approver.email),
        {
            "text": text,
            "choices": [
                [t("approval.approve"), f"{APPROVE}approve:{approval.id}:{nonce}"],
                [t("approval.deny"), f"{APPROVE}deny:{approval.id}:{nonce}"],
            ],
            "scrub": True,
        },
    )
    asked = f"approval {approval.id} asked of {kind} {approver.directory_id}"
    ctx.audit(
        action=action,
        outcome="requested",
        target=account,
        actor=account,
        reason=f"{reason}; {asked}" if reason else asked,
        verification="approval",
        ticket=ticket,
    )
    return approval
