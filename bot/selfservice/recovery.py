"""Rule 7: when a directory or another integration is down or fails, the person is told
plainly, a ticket is opened with the context, and the failure is audited.

`integration_down` is what the engine's error boundary answers with for any handler whose
integration raised `Unavailable` (`bot.engine.Engine._run`); actions that catch the failure
themselves (an unlock, a reset) call `open_failure_ticket` with what they know.
"""

from __future__ import annotations

from bot.integrations.directory import Account, DirectoryError, Unavailable
from bot.selfservice.context import ActionContext, Outcome


def open_failure_ticket(
    ctx: ActionContext,
    account: Account | None,
    action: str,
    detail: str,
    requester: Account | None = None,
) -> str:
    """Open a ticket with the context of a failed self-service `action`; its reference.
    `requester` is the actor's account when known (the ticket is the actor's)."""
    email = ctx.msg.actor.email or "unknown"
    ticket, _ = ctx.open_ticket(
        summary=f"Self-service {action} failed",
        description=(
            f"The bot could not complete a self-service {action} for {email}"
            f" (account {account.directory_id if account else 'unknown'}): {detail}."
            f" Request {ctx.request_id}."
        ),
        category="account & access",
        priority="P2",
        key=f"failure:{ctx.request_id}",
        requester=requester,
    )
    return ticket.ref


def integration_down(
    ctx: ActionContext, action: str, exc: DirectoryError, actor: Account | None = None
) -> Outcome:
    """An integration could not be read or failed: open a ticket, audit, say so."""
    what = action.replace("_", " ")
    ref = open_failure_ticket(ctx, actor, what, f"{type(exc).__name__} ({exc.detail})", actor)
    ctx.audit(
        action=action,
        outcome="failed",
        target=actor,
        actor=actor,
        reason=type(exc).__name__,
        ticket=ref,
    )
    phone = ctx.services.settings.bot.support_phone
    return Outcome("account.unavailable", {"ticket": ref, "phone": phone})


async def own_account(ctx: ActionContext, action: str) -> Account | Outcome:
    """The actor's account, or what to say when the directory is down. Identity refusals
    (a malformed or shared address...) are audited under `action` and raised."""
    try:
        return await ctx.account(action)
    except Unavailable as exc:
        return integration_down(ctx, action, exc)
