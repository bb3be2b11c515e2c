"""A new or lost phone: the sign-in methods, a one-time pass after approval, the old phone.

- `methods`: the account's registered sign-in methods, kinds and names only (never a
  secret; a phone number keeps its last 3 digits), audited `mfa_methods`.
- A Temporary Access Pass (`mfa_pass`) to register Authenticator on the new phone: only
  after the manager (or the on-call approver) approves (`bot.selfservice.approvals`), issued
  when the requester presses the button in their own conversation, shown once privately and
  deleted after `self_service.secret_minutes`; a separate notice says a pass was issued. It
  lives `graph.tap_minutes` and works once. Synced accounts get one too (it is a sign-in
  method, not a password).
- Removing the old phone (`mfa_remove`): only an Authenticator registration, and only when
  a newer Authenticator registration exists (the new phone is set up first, so the person is
  never left without a way to approve sign-ins).
- Protected accounts are refused, audited and alerted; each action is rate-limited as resets
  (`self_service.resets_per_day`, `reset_cooldown_minutes`); every step writes one audit
  record; a directory failure opens a ticket (a pass answered 503 may exist: the ticket says
  to delete it).
"""

from __future__ import annotations

from bot.integrations.directory import (
    Account,
    DirectoryError,
    PolicyViolation,
    ProtectedAccount,
    SignInMethod,
)
from bot.messages import Recipient
from bot.selfservice.actions import reset_notice
from bot.selfservice.approval_answers import approved_run
from bot.selfservice.context import ActionContext, Outcome, refused
from bot.selfservice.guardrails import limited, refusal, refuse_limited, refuse_protected
from bot.selfservice.recovery import open_failure_ticket

MFA_PASS = "mfa_pass"  # noqa: S105 (an audit action name)
MFA_REMOVE = "mfa_remove"


async def methods(ctx: ActionContext, account: Account) -> tuple[SignInMethod, ...] | Outcome:
    """The account's sign-in methods (audited), or the refusal when none can be read here."""
    try:
        found = await ctx.services.directory.sign_in_methods(account)
    except PolicyViolation as exc:
        ctx.audit(
            action="mfa_methods",
            outcome="refused",
            target=account,
            actor=account,
            reason=f"no Entra: {exc.detail}",
        )
        return refused("phone.no_entra")
    ctx.audit(
        action="mfa_methods",
        outcome="done",
        target=account,
        actor=account,
        reason=", ".join(sorted(m.kind for m in found)) or "none",
    )
    return found


def old_phone(found: tuple[SignInMethod, ...]) -> SignInMethod | None:
    """The oldest Authenticator registration when a newer one exists (the new phone)."""
    apps = sorted(
        (m for m in found if m.kind == "authenticator" and m.created is not None),
        key=lambda m: m.created or 0,
    )
    return apps[0] if len(apps) >= 2 else None


async def issue_pass(
    ctx: ActionContext,
    target: Account,
    actor: Account,
    *,
    verification: str,
    reason: str,
    ticket: str | None = None,
) -> Outcome:
    """Issue the one-time pass and say it once, privately (every check already passed)."""
    settings = ctx.services.settings
    try:
        secret = await ctx.services.directory.issue_mfa_pass(target, settings.graph.tap_minutes)
    except ProtectedAccount:
        return refuse_protected(ctx, target, MFA_PASS, "directory_refused", actor)
    except DirectoryError as exc:
        detail = f"{type(exc).__name__} (a Temporary Access Pass may have been created: delete it)"
        ref = open_failure_ticket(ctx, target, "new phone pass", detail, actor)
        ctx.audit(
            action=MFA_PASS,
            outcome="failed",
            target=target,
            actor=actor,
            reason=type(exc).__name__,
            verification=verification,
            ticket=ref,
        )
        return refused("phone.pass_failed", ticket=ref)
    ctx.audit(
        action=MFA_PASS,
        outcome="done",
        target=target,
        actor=actor,
        reason=f"{reason}; temporary access pass",
        verification=verification,
        ticket=ticket,
    )
    msg = ctx.msg
    if target.directory_id == actor.directory_id:
        by = ctx.t("reset.by_you")
        reset_notice(ctx, Recipient.person(msg.platform, msg.actor.user_id), by, "phone.notice")
        key = "phone.pass"
    else:
        by = ctx.t("reset.by_desk", ticket=ticket)
        reset_notice(ctx, Recipient.by_email(target.email), by, "phone.notice")
        key = "phone.pass_for"
    minutes = settings.self_service.secret_minutes
    return Outcome(
        key,
        {
            "password": secret,
            "minutes": minutes,
            "lifetime": settings.graph.tap_minutes,
            "name": target.display_name,
        },
        done=True,
        private=True,
        delete_after_s=minutes * 60,
    )


async def run_approved_pass(ctx: ActionContext, raw_id: str) -> Outcome:
    """The requester pressed "Show my one-time pass" after their approver said yes."""
    ready = await approved_run(ctx, raw_id, MFA_PASS)
    if isinstance(ready, Outcome):
        return ready
    approval, account = ready
    return await issue_pass(
        ctx,
        account,
        account,
        verification="approval",
        reason=f"approval {approval.id} by {approval.approver_kind} {approval.approver_id}",
    )


async def remove_old_phone(ctx: ActionContext, account: Account, method_id: str) -> Outcome:
    """Remove the old phone's Authenticator registration, once a newer one is registered."""
    if refused_now := refusal(ctx, account, MFA_REMOVE):
        return refused_now
    if why := limited(ctx, account, MFA_REMOVE):
        return refuse_limited(ctx, account, MFA_REMOVE, why)
    found = await methods(ctx, account)
    if isinstance(found, Outcome):
        return found
    old = old_phone(found)
    if old is None or old.method_id != method_id:
        ctx.audit(
            action=MFA_REMOVE,
            outcome="refused",
            target=account,
            actor=account,
            reason="no newer Authenticator registration",
        )
        return refused("phone.no_new_yet")
    try:
        await ctx.services.directory.remove_sign_in_method(account, old)
    except ProtectedAccount:
        return refuse_protected(ctx, account, MFA_REMOVE, "directory_refused")
    except DirectoryError as exc:
        ref = open_failure_ticket(ctx, account, "old phone removal", type(exc).__name__, account)
        ctx.audit(
            action=MFA_REMOVE,
            outcome="failed",
            target=account,
            actor=account,
            reason=type(exc).__name__,
            ticket=ref,
        )
        return refused("phone.remove_failed", ticket=ref)
    ctx.audit(
        action=MFA_REMOVE,
        outcome="done",
        target=account,
        actor=account,
        reason=f"authenticator {old.method_id} ({old.name})",
    )
    return Outcome("phone.removed", {"name": old.name}, done=True)
