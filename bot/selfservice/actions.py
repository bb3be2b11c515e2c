"""The self-service actions on an account: check -> act -> audit -> notify -> `Outcome`.

An unlock and a password reset (a Temporary Access Pass for cloud accounts when
`graph.cloud_recovery = "tap"`), each for the actor or, with `verification="engineer_role"`,
for a ticket's requester; adding an approved member to a group. A reset's secret exists only
in the returned `Outcome` (private, deleted after `self_service.secret_minutes`); a reset is
one directory change, so nothing is half-applied.
"""

from __future__ import annotations

from bot.integrations.directory import (
    Account,
    DirectoryError,
    PolicyViolation,
    ProtectedAccount,
    Unavailable,
)
from bot.messages import Recipient
from bot.passwords import temporary_password
from bot.selfservice.context import ActionContext, Outcome, refused
from bot.selfservice.guardrails import (
    limited,
    lockout_burst,
    refusal,
    refuse_burst,
    refuse_limited,
    refuse_protected,
)
from bot.selfservice.recovery import open_failure_ticket
from bot.store.approvals import Approval

_RESET_ATTEMPTS = 3


async def perform_unlock(
    ctx: ActionContext,
    target: Account,
    actor: Account,
    *,
    verification: str,
    ticket: str | None = None,
    requester_turn: bool = True,
) -> Outcome:
    """Unlock `target` after every check; `done` when it was unlocked."""
    if refused_now := refusal(ctx, target, "unlock", actor):
        return refused_now
    if not target.locked:
        return Outcome("unlock.already")
    if why := limited(ctx, target, "unlock"):
        return refuse_limited(ctx, target, "unlock", why, actor)
    try:
        if verification != "engineer_role" and await lockout_burst(ctx):
            return refuse_burst(ctx, target, actor, "unlock", verification)
        await ctx.services.directory.unlock(target)
    except ProtectedAccount:
        return refuse_protected(ctx, target, "unlock", "directory_refused", actor)
    except DirectoryError as exc:
        ref = open_failure_ticket(ctx, target, "unlock", type(exc).__name__, actor)
        ctx.audit(
            action="unlock",
            outcome="failed",
            target=target,
            actor=actor,
            reason=type(exc).__name__,
            verification=verification,
            ticket=ref,
        )
        return Outcome("unlock.failed", {"ticket": ref})
    ctx.audit(
        action="unlock",
        outcome="done",
        target=target,
        actor=actor,
        verification=verification,
        ticket=ticket,
    )
    key = "unlock.done" if requester_turn else "unlock.done_for"
    return Outcome(key, {"name": target.display_name}, done=True)


def _name_parts(account: Account) -> tuple[str, ...]:
    return (account.email.split("@", 1)[0], account.display_name)


def reset_notice(
    ctx: ActionContext, recipient: Recipient, by: str, key: str = "reset.notice"
) -> None:
    """Tell the account's owner, separately from the secret, that a reset (or, with `key`
    "phone.notice", a one-time pass) happened."""
    text = ctx.t(
        key,
        when=ctx.local_time(ctx.services.clock()),
        by=by,
        phone=ctx.services.settings.bot.support_phone,
    )
    ctx.services.outbox.put(
        f"reset-notice:{ctx.request_id}", "notice", recipient, {"text": text, "choices": []}
    )


async def perform_reset(
    ctx: ActionContext,
    target: Account,
    actor: Account,
    *,
    verification: str,
    ticket: str | None = None,
    reason: str = "",
) -> Outcome:
    """Reset `target`'s password to a new temporary one; the outcome shows it to the actor."""
    t = ctx.t
    settings = ctx.services.settings.self_service
    directory = ctx.services.directory
    graph = ctx.services.settings.graph
    tap = target.source == "cloud" and graph.cloud_recovery == "tap"
    try:
        if target.locked and verification != "engineer_role" and await lockout_burst(ctx):
            return refuse_burst(ctx, target, actor, "password_reset", verification)
        if tap:
            password = await directory.issue_temporary_access_pass(target, graph.tap_minutes)
        else:
            for _ in range(_RESET_ATTEMPTS):
                # Read each time: after a refusal the directory reads its policy afresh.
                policy = await directory.password_policy()
                password = temporary_password(policy, settings.password_length, _name_parts(target))
                try:
                    await directory.reset_password(target, password)
                    break
                except PolicyViolation:
                    continue
            else:
                raise PolicyViolation(f"{_RESET_ATTEMPTS} generated passwords were refused")
    except ProtectedAccount:
        return refuse_protected(ctx, target, "password_reset", "directory_refused", actor)
    except DirectoryError as exc:
        detail = type(exc).__name__
        if isinstance(exc, Unavailable):
            detail += (
                " (a Temporary Access Pass may have been created: delete it)"
                if tap
                else " (the reset may or may not have been applied; check pwdLastSet)"
            )
        ref = open_failure_ticket(ctx, target, "password reset", detail, actor)
        ctx.audit(
            action="password_reset",
            outcome="failed",
            target=target,
            actor=actor,
            reason=type(exc).__name__,
            verification=verification,
            ticket=ref,
        )
        return refused("reset.failed", ticket=ref)
    ctx.audit(
        action="password_reset",
        outcome="done",
        target=target,
        actor=actor,
        verification=verification,
        ticket=ticket,
        reason=(reason + "; " if reason else "") + ("temporary access pass" if tap else "password"),
    )
    msg = ctx.msg
    if target.directory_id == actor.directory_id:
        reset_notice(ctx, Recipient.person(msg.platform, msg.actor.user_id), t("reset.by_you"))
        key = "reset.tap" if tap else "reset.secret"
    else:
        reset_notice(ctx, Recipient.by_email(target.email), t("reset.by_desk", ticket=ticket))
        key = "reset.tap_for" if tap else "reset.secret_for"
    minutes = settings.secret_minutes
    return Outcome(
        key,
        {
            "password": password,
            "minutes": minutes,
            "name": target.display_name,
            "lifetime": graph.tap_minutes,
        },
        done=True,
        private=True,
        delete_after_s=minutes * 60,
    )


async def add_member(ctx: ActionContext, approval: Approval, owner: Account) -> Outcome:
    """The group's owner approved: check again (still an owner, still not privileged), add.
    `done` with the group's name in `params`; else the failure, its ticket opened."""
    directory = ctx.services.directory
    ctx.services.approvals.use(approval.id)
    try:
        group = await directory.find_group(approval.subject_name)
        target = await directory.find_by_id(approval.target)
        if group.group_id != approval.subject or owner.email not in group.owners:
            raise ProtectedAccount("the group or its owners changed")
        if group.role_assignable:
            raise ProtectedAccount("the group became role-assignable")
        await directory.add_to_group(group, target)
    except DirectoryError as exc:
        ref = open_failure_ticket(ctx, None, f"access to {approval.subject_name}", str(exc), owner)
        ctx.audit(
            action="group_add",
            outcome="failed",
            target=approval.target,
            actor=owner,
            reason=type(exc).__name__,
            verification="approval",
            ticket=ref,
        )
        return Outcome("group.add_failed", {"group": approval.subject_name, "ticket": ref})
    ctx.audit(
        action="group_add",
        outcome="done",
        target=target,
        actor=owner,
        reason=f"{group.name} ({group.group_id}); approval {approval.id}",
        verification="approval",
    )
    return Outcome("group.added_ok", {"group": group.name}, done=True)
