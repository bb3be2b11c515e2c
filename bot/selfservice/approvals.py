"""Approval before an action: who approves (the manager from the directory, else the on-call
approver; a group's owner for access), asking them, and asking for access to a group.

Verification is set per action (`self_service.unlock_verification`, `reset_verification`):
"none" (unlock only) or "approval", with a one-time nonce that expires
(`bot.store.approvals`). Denied approvals (`max_failed_verifications` in 24 h) lock the
user's self-service for the day (`bot.selfservice.guardrails.limited`).
"""

from __future__ import annotations

from datetime import timedelta

from bot.integrations.directory import (
    Account,
    DirectoryError,
    Group,
    PolicyViolation,
    Unavailable,
)
from bot.messages import Recipient
from bot.selfservice.approval_ask import ask_approver
from bot.selfservice.context import ActionContext, Outcome, refused
from bot.selfservice.guardrails import limited, refuse_limited
from bot.selfservice.recovery import integration_down, own_account
from bot.store.approvals import Approval


async def approver_for(ctx: ActionContext, account: Account) -> tuple[Account, str] | None:
    """The manager from the directory, else the configured on-call approver; never oneself."""
    oncall = ctx.services.settings.self_service.oncall_approver or None
    return await _first_approver(
        ctx, account, [(account.manager_email, "manager"), (oncall, "oncall")]
    )


async def _owner(ctx: ActionContext, account: Account, group: Group) -> tuple[Account, str] | None:
    """The first of the group's owners who is enabled and is not the requester."""
    return await _first_approver(ctx, account, [(e, "owner") for e in sorted(group.owners)])


async def _first_approver(
    ctx: ActionContext, account: Account, candidates: list[tuple[str | None, str]]
) -> tuple[Account, str] | None:
    """The first (email, kind) candidate found in the directory, enabled, and not `account`."""
    for email, kind in candidates:
        if not email:
            continue
        try:
            found = await ctx.services.directory.find_by_email(email)
        except Unavailable:
            raise
        except DirectoryError:
            continue
        if found.enabled and found.directory_id != account.directory_id:
            return found, kind
    return None


async def request_approval(
    ctx: ActionContext,
    account: Account,
    action: str,
    *,
    group: Group | None = None,
) -> Outcome:
    """Ask the approver privately; the action runs only once they approve. For a group the
    approver is one of its owners; otherwise the user's manager or the on-call approver."""
    t = ctx.t
    services = ctx.services
    settings = services.settings.self_service
    if group is None and (why := limited(ctx, account, action)):
        return refuse_limited(ctx, account, action, why)
    subject = group.group_id if group else ""
    waiting = services.approvals.open_for(account.directory_id, action, subject)
    if waiting is not None and waiting.state == "pending":
        return Outcome("approval.already", {"approver": waiting.approver_email})
    try:
        found = await _owner(ctx, account, group) if group else await approver_for(ctx, account)
    except Unavailable as exc:
        return integration_down(ctx, action, exc)
    if found is None:
        ctx.audit(
            action=action,
            outcome="refused",
            target=account,
            actor=account,
            reason="no_approver",
            verification="approval",
        )
        return refused("approval.nobody")
    approver, kind = found
    what = t(f"approval.action.{action}", group=group.name if group else "")
    ask_approver(
        ctx,
        account,
        approver,
        kind,
        action=action,
        lifetime=timedelta(minutes=settings.approval_minutes),
        text=t(
            "approval.ask",
            name=account.display_name,
            email=account.email,
            what=what,
            minutes=settings.approval_minutes,
            role=t(f"approval.role.{kind}"),
        ),
        subject=subject,
        subject_name=group.name if group else "",
    )
    return Outcome(
        "approval.sent",
        {
            "approver": approver.display_name,
            "what": t(f"approval.you.{action}", group=group.name if group else ""),
            "minutes": settings.approval_minutes,
        },
    )


async def request_group_access(ctx: ActionContext, name: str) -> Outcome:
    """ "I need access to X": a requestable group, never a privileged one; its owner approves."""
    settings = ctx.services.settings
    account = await own_account(ctx, "group_add")
    if not isinstance(account, Account):
        return account
    try:
        if name not in settings.graph.requestable_groups:
            raise PolicyViolation(f"{name} is not in graph.requestable_groups")
        group = await ctx.services.directory.find_group(name)
    except Unavailable as exc:
        return integration_down(ctx, "group_add", exc)
    except DirectoryError as exc:
        ctx.audit(
            action="group_add",
            outcome="refused",
            target=account,
            actor=account,
            reason=f"not requestable: {exc}",
        )
        return refused("group.not_requestable", group=name)
    protected = {g.lower() for g in settings.ldap.protected_groups}
    if group.role_assignable or group.name.lower() in protected:
        ctx.audit(
            action="group_add",
            outcome="refused",
            target=account,
            actor=account,
            reason=f"privileged group {group.name}",
        )
        ctx.alert_security(
            ctx.request_id,
            f"{account.email} asked to join the privileged group {group.name}; refused.",
            {"action": "group_add", "group": group.group_id},
        )
        return refused("group.privileged", group=group.name)
    return await request_approval(ctx, account, "group_add", group=group)


def tell_requester(
    ctx: ActionContext, approval: Approval, text: str, choices: list[list[str]]
) -> None:
    ctx.services.outbox.put(
        f"approval-result:{approval.id}",
        "notice",
        Recipient.person(approval.requester_platform, approval.requester_user_id),
        {"text": text, "choices": choices},
    )
