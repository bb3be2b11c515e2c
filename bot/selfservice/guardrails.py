"""The checks every self-service action passes before it acts, and their refusals.

Protected accounts (privileged, service, disabled, out of scope) are refused, audited and,
except disabled ones, reported to security; rate limits and cooldowns per action; the
lockout-burst pause (many lockouts at once look like a password spray). Each refusal writes
one audit record (DESIGN rule 6, `tests/test_refusals.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import parse_iso
from bot.integrations.directory import Account
from bot.selfservice.context import ActionContext, Outcome, refused
from bot.selfservice.recovery import open_failure_ticket


def protected_reason(account: Account) -> str | None:
    if account.privileged:
        return "privileged"
    if account.service_account:
        return "service_account"
    if not account.enabled:
        return "disabled"
    if not account.in_scope:
        return "out_of_scope"
    return None


def refusal(
    ctx: ActionContext, account: Account, action: str, actor: Account | None = None
) -> Outcome | None:
    """The refusal to answer with when `account` is protected from self-service, else None."""
    reason = protected_reason(account)
    return refuse_protected(ctx, account, action, reason, actor) if reason else None


def refuse_protected(
    ctx: ActionContext, account: Account, action: str, reason: str, actor: Account | None = None
) -> Outcome:
    """Refuse a self-service action on a protected account: audit, alert security, explain."""
    ctx.audit(
        action=action, outcome="refused", target=account, actor=actor or account, reason=reason
    )
    if reason != "disabled":
        who = ctx.msg.actor.email or ctx.msg.actor.user_id
        ctx.alert_security(
            ctx.request_id,
            f"Refused self-service {action} on a protected account ({reason}):"
            f" target {account.directory_id}, asked by {who} on {ctx.msg.platform}"
            f" (request {ctx.request_id}).",
            {"action": action, "target": account.directory_id, "reason": reason},
        )
    key = "account.disabled" if reason == "disabled" else "account.protected"
    return refused(key, phone=ctx.services.settings.bot.support_phone)


def refuse_federated(ctx: ActionContext, account: Account) -> Outcome:
    """The password belongs to another identity provider: say where to go, audit it."""
    ctx.audit(
        action="password_reset",
        outcome="refused",
        target=account,
        actor=account,
        reason="federated",
    )
    return refused("account.federated", phone=ctx.services.settings.bot.support_phone)


@dataclass(frozen=True)
class Limit:
    """How often an action may run for one account: `per_day` in 24 hours, `cooldown_minutes`
    apart."""

    per_day: int
    cooldown_minutes: int


def limit_for(ctx: ActionContext, action: str) -> Limit:
    """The configured limit of `action` (`self_service.*_per_day`, `*_cooldown_minutes`)."""
    s = ctx.services.settings.self_service
    if action == "unlock":
        return Limit(s.unlocks_per_day, s.unlock_cooldown_minutes)
    return Limit(s.resets_per_day, s.reset_cooldown_minutes)


def limited(ctx: ActionContext, account: Account, action: str) -> str | None:
    """Why `action` on `account` is not allowed now (a catalogue key suffix), or None."""
    settings = ctx.services.settings.self_service
    now = ctx.services.clock()
    audit = ctx.services.audit
    day = now - timedelta(days=1)
    if audit.count(account.directory_id, action, "denied", day) >= (
        settings.max_failed_verifications
    ):
        return "verification_locked"
    limit = limit_for(ctx, action)
    if audit.count(account.directory_id, action, "done", day) >= limit.per_day:
        return "daily_limit"
    last = audit.last_time(account.directory_id, action, "done")
    if last is not None and parse_iso(last) > now - timedelta(minutes=limit.cooldown_minutes):
        return "cooldown"
    return None


def refuse_limited(
    ctx: ActionContext, account: Account, action: str, why: str, actor: Account | None = None
) -> Outcome:
    ctx.audit(action=action, outcome="refused", target=account, actor=actor or account, reason=why)
    return refused(f"limits.{why}", limit=limit_for(ctx, action).per_day)


async def lockout_burst(ctx: ActionContext) -> bool:
    """Whether many accounts locked out recently (then alert security, once per window)."""
    settings = ctx.services.settings.self_service
    now = ctx.services.clock()
    window = timedelta(minutes=settings.burst_window_minutes)
    count = await ctx.services.directory.lockouts_since(now - window)
    # An unlock (or a reset, which clears a lockout) zeroes lockoutTime on the DC, so the
    # DC's count alone would shrink as victims unlock themselves: add the bot's own.
    audit = ctx.services.audit
    count += audit.count_all("unlock", "done", now - window)
    count += audit.count_all("password_reset", "done", now - window)
    if count < settings.burst_threshold:
        return False
    bucket = int(now.timestamp() // window.total_seconds())
    ctx.alert_security(
        f"burst:{bucket}",
        f"Lockout burst: {count} accounts locked out or unlocked in the last"
        f" {settings.burst_window_minutes} minutes (possible password spray)."
        " Self-service unlocks are paused until the count drops.",
        {"action": "unlock", "count": count},
    )
    return True


def refuse_burst(
    ctx: ActionContext, target: Account, actor: Account, action: str, verification: str
) -> Outcome:
    """Self-service paused by the lockout-burst check: audit, open a ticket, say so."""
    ctx.audit(
        action=action,
        outcome="refused",
        target=target,
        actor=actor,
        reason="lockout_burst",
        verification=verification,
    )
    what = action.replace("_", " ")
    ref = open_failure_ticket(ctx, target, what, "paused by the lockout-burst check", actor)
    return Outcome("unlock.burst", {"ticket": ref})
