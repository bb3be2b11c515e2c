"""A phishing email: reported, or clicked (an incident).

- Reported without a click: a security ticket (P3, `self_service.security_team`) with what
  the person said, one audit record; the guidance itself is the handler's.
- A click, or a password typed into the page: an incident. A P1 ticket for the security
  team and an alert to `self_service.security_channel` at once; then, only with the person's
  confirmation, their sign-in sessions are revoked (Entra; AD keeps none) and a password
  change is forced at the next sign-in (AD `pwdLastSet=0` for synced accounts, Entra for
  cloud-only ones, by the routing rules). Each step writes its own audit record and its own
  alert, done or failed; a step that fails does not stop the other, and adds to the ticket.
- Privileged, service and disabled accounts are refused (audited, alerted): security acts
  on those by hand from the P1 ticket. The containment may run `resets_per_day` times a day.
"""

from __future__ import annotations

from bot.integrations.directory import Account, DirectoryError, PolicyViolation
from bot.selfservice.context import ActionContext, Outcome
from bot.selfservice.guardrails import limited, refusal, refuse_limited
from bot.tickets.model import parse_ticket_ref

CONTAIN = "phish_containment"
"""The audit action of the containment as a whole (its refusals and its rate limit)."""
_STEPS = {
    "revoke_sessions": "revoke the sign-in sessions",
    "require_password_change": "force a password change",
}


def _to_security(ctx: ActionContext, number: int) -> None:
    team = ctx.services.settings.self_service.security_team
    if team in ctx.services.tickets.teams:
        ctx.services.tickets.assign(number, ctx.services.settings.bot.name, team=team)


def report_phish(ctx: ActionContext, account: Account | None, said: str) -> str:
    """A suspicious email, not clicked: a P3 security ticket and an audit record; its ref."""
    ticket, _ = ctx.open_ticket(
        summary="Suspicious email reported (not clicked)",
        description=f"Reported in chat as a possible phishing email: {said}",
        category="security",
        priority="P3",
        key=f"phish-report:{ctx.request_id}",
        requester=account,
    )
    _to_security(ctx, ticket.number)
    ctx.audit(
        action="phish_report", outcome="done", target=account, actor=account, ticket=ticket.ref
    )
    return ticket.ref


def open_incident(ctx: ActionContext, account: Account | None, said: str, typed: bool) -> str:
    """A click (or a password typed into the page): a P1 security ticket, an alert, an audit
    record; its ref. Idempotent per request."""
    what = "typed their password into" if typed else "clicked a link in"
    ticket, _ = ctx.open_ticket(
        summary="Phishing: user " + what + " a suspicious email",
        description=f"Reported in chat: {said}",
        category="security",
        priority="P1",
        impact="single",
        urgency="high",
        key=f"phish-incident:{ctx.request_id}",
        requester=account,
    )
    _to_security(ctx, ticket.number)
    who = ctx.msg.actor.email or ctx.msg.actor.user_id
    ctx.alert_security(
        f"phish:{ticket.ref}",
        f"Phishing incident {ticket.ref}: {who} {what} a suspicious email"
        f" (account {account.directory_id if account else 'unknown'}).",
        {"action": "phish_incident", "ticket": ticket.ref},
    )
    ctx.audit(
        action="phish_incident",
        outcome="done",
        target=account,
        actor=account,
        reason="password typed" if typed else "link clicked",
        ticket=ticket.ref,
    )
    return ticket.ref


async def contain(ctx: ActionContext, account: Account, ticket: str) -> Outcome:
    """With the person's yes: revoke their sessions and force a password change, each step
    audited and alerted. `done` when both steps ran (or one was not possible there)."""
    if refused_now := refusal(ctx, account, CONTAIN):
        return refused_now
    if why := limited(ctx, account, CONTAIN):
        return refuse_limited(ctx, account, CONTAIN, why)
    directory = ctx.services.directory
    results: dict[str, str] = {}
    for step, run in (
        ("revoke_sessions", directory.revoke_sessions),
        ("require_password_change", directory.require_password_change),
    ):
        try:
            await run(account)
            outcome, reason = "done", ""
        except PolicyViolation as exc:  # not possible there (AD alone has no sessions)
            outcome, reason = "not_possible", exc.detail
        except DirectoryError as exc:
            outcome, reason = "failed", type(exc).__name__
            ctx.services.tickets.note(
                parse_ticket_ref(ticket) or 0,
                ctx.services.settings.bot.name,
                f"The bot could not {_STEPS[step]} ({reason}): do it by hand.",
            )
        results[step] = outcome
        ctx.audit(
            action=step,
            outcome=outcome,
            target=account,
            actor=account,
            reason=reason or f"phishing incident {ticket}",
            verification="user_confirmed",
            ticket=ticket,
        )
        ctx.alert_security(
            f"phish:{ticket}:{step}",
            f"{ticket}: {step.replace('_', ' ')} for {account.email}: {outcome}"
            + (f" ({reason})" if reason else "")
            + ".",
            {"action": step, "target": account.directory_id, "ticket": ticket},
        )
    ctx.audit(
        action=CONTAIN,
        outcome="done" if "failed" not in results.values() else "failed",
        target=account,
        actor=account,
        reason=", ".join(f"{k} {v}" for k, v in results.items()),
        verification="user_confirmed",
        ticket=ticket,
    )
    if "failed" in results.values():
        return Outcome("phishing.contain_failed", {"ticket": ticket}, offered=("human",))
    key = (
        "phishing.contained"
        if results["revoke_sessions"] == "done"
        else "phishing.contained_password_only"
    )
    return Outcome(key, {"ticket": ticket}, done=True)
