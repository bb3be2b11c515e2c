"""Engineers act for someone else: `/helpdesk unlock|reset|tap <user> <ID>` (`tap`: a
one-time pass for a new phone, shown to the engineer to read out after checking who is on
the line).

The checks, in order, each refusal audited (with the ticket when there is one):

1. the engineer is one directory account (exact identity, `Turn.account`) whose role is
   checked against the directory's security groups on every call;
2. the ticket exists and is named (`account.need_ticket` otherwise);
3. the person typed is one account: the name is refused before any directory call if it
   holds a control, format or whitespace character; an address two accounts share is
   refused and the engineer told why (which address, how many accounts), since mail is not
   unique in AD or Entra;
4. the ticket is open and was raised by that account, compared by the directory's
   immutable id stored on the ticket when it was opened (`requester_directory_id`), never
   by the email: another account with the same `mail` does not pass. A ticket without that
   id (opened before it was stored, or while the requester's identity was refused) passes
   for nobody: the engineer asks the person to open a new one;
5. every self-service guardrail still applies to the target, and one engineer may do
   `self_service.engineer_actions_per_day` of these in a day.
"""

from __future__ import annotations

from datetime import timedelta

from bot.handlers.base import Turn
from bot.handlers.outcomes import said
from bot.handlers.roles import is_engineer, person
from bot.integrations.directory import (
    Account,
    Ambiguous,
    DirectoryError,
    MalformedIdentity,
    Unavailable,
)
from bot.messages import Reply
from bot.selfservice.actions import perform_reset, perform_unlock
from bot.selfservice.guardrails import limited, refusal, refuse_limited
from bot.selfservice.new_phone import MFA_PASS, issue_pass
from bot.selfservice.recovery import integration_down, own_account
from bot.tickets.model import Ticket

_CLOSED = ("resolved", "closed", "cancelled")


def _refuse(
    turn: Turn,
    name: str,
    engineer: Account,
    reason: str,
    reply: str,
    *,
    target: Account | None = None,
    ticket: Ticket | None = None,
) -> list[Reply]:
    """Audit one refusal of an engineer's action and answer the engineer privately."""
    turn.audit(
        action=name,
        outcome="refused",
        target=target,
        actor=engineer,
        reason=reason,
        verification="engineer_role",
        ticket=ticket.ref if ticket else None,
    )
    return [Reply(reply, private=True)]


async def _named_account(
    turn: Turn, name: str, engineer: Account, wanted: str, ticket: Ticket
) -> Account | list[Reply]:
    """The one account the engineer named, or the audited refusal to answer with."""
    t = turn.t
    try:
        return await turn.services.directory.find_by_email(wanted)
    except Unavailable as exc:
        return said(turn, integration_down(turn, name, exc))
    except Ambiguous as exc:
        why = f"shared_address: {wanted} ({exc.detail})"
        text = t("account.shared_address", user=wanted)
        return _refuse(turn, name, engineer, why, text, ticket=ticket)
    except MalformedIdentity as exc:
        why = f"malformed_identity: the name typed {exc.detail.removeprefix('the email ')}"
        return _refuse(turn, name, engineer, why, t("account.malformed_user"), ticket=ticket)
    except DirectoryError as exc:  # none, or not exactly that address: act on nobody
        why = f"no_such_user: {wanted} ({type(exc).__name__})"
        text = t("account.no_such_user", user=wanted)
        return _refuse(turn, name, engineer, why, text, ticket=ticket)


def _ticket_refusal(ticket: Ticket, target: Account) -> tuple[str, str] | None:
    """Why `ticket` does not allow acting on `target`, and the catalogue key that tells the
    engineer (None: it does)."""
    if ticket.state in _CLOSED:
        return f"ticket {ticket.ref} is {ticket.state}", "account.wrong_ticket"
    if ticket.requester_directory_id is None:
        why = f"ticket {ticket.ref} has no directory id for its requester"
        return why, "account.ticket_unidentified"
    if ticket.requester_directory_id != target.directory_id:
        why = f"ticket {ticket.ref} was raised by {ticket.requester_directory_id}"
        return why, "account.wrong_ticket"
    return None


async def for_someone_else(turn: Turn, action: str, args: list[str]) -> list[Reply]:
    """`/helpdesk unlock|reset <user> <ID>`: an engineer acts on a requester's account
    (the module docstring lists the checks)."""
    from bot.tickets.model import parse_ticket_ref

    t = turn.t
    name = {"unlock": "unlock", "tap": MFA_PASS}.get(action, "password_reset")
    engineer = await own_account(turn, name)
    if not isinstance(engineer, Account):
        return said(turn, engineer)
    if not await is_engineer(turn):
        turn.audit(
            action=name,
            outcome="refused",
            target=None,
            actor=engineer,
            reason="for someone else without an engineer role",
        )
        return [Reply(t("commands.refused"), private=True)]
    number = parse_ticket_ref(args[1]) if len(args) > 1 else None
    ticket = turn.services.tickets.get(number) if number is not None else None
    if ticket is None:
        usage = f"/helpdesk {action} <user> <ID>"
        reason = f"no ticket ({args[1] if len(args) > 1 else 'none named'})"
        return _refuse(turn, name, engineer, reason, t("account.need_ticket", usage=usage))
    target = await _named_account(turn, name, engineer, person(turn, args[0]), ticket)
    if not isinstance(target, Account):
        return target
    if target.directory_id == engineer.directory_id:
        text = t("account.use_own")
        return _refuse(turn, name, engineer, "own_account", text, target=target, ticket=ticket)
    if refused := refusal(turn, target, name, engineer):
        return said(turn, refused)
    if wrong := _ticket_refusal(ticket, target):
        text = t(wrong[1], ticket=ticket.ref)
        return _refuse(turn, name, engineer, wrong[0], text, target=target, ticket=ticket)
    settings = turn.services.settings.self_service
    day = turn.services.clock() - timedelta(days=1)
    done = sum(
        turn.services.audit.count_all(a, "done", day, actor=engineer.directory_id)
        for a in ("unlock", "password_reset", MFA_PASS)
    )
    if done >= settings.engineer_actions_per_day:
        turn.alert_security(
            f"engineer-limit:{engineer.directory_id}:{day.date()}",
            f"{engineer.email} reached {settings.engineer_actions_per_day} unlocks/resets"
            " for others in 24 hours; further ones are refused.",
            {"action": name, "actor": engineer.directory_id},
        )
        text = t("account.engineer_limit", limit=settings.engineer_actions_per_day)
        return _refuse(
            turn, name, engineer, "engineer_daily_limit", text, target=target, ticket=ticket
        )
    if name == "unlock":
        unlocked = await perform_unlock(
            turn,
            target,
            engineer,
            verification="engineer_role",
            ticket=ticket.ref,
            requester_turn=False,
        )
        return said(turn, unlocked)
    if why := limited(turn, target, name):
        return said(turn, refuse_limited(turn, target, name, why, engineer))
    if name == MFA_PASS:
        issued = await issue_pass(
            turn,
            target,
            engineer,
            verification="engineer_role",
            reason=f"for {ticket.ref}",
            ticket=ticket.ref,
        )
        if issued.done:  # security sees every pass issued for someone else
            turn.alert_security(
                f"engineer-pass:{turn.request_id}",
                f"{engineer.email} issued a one-time pass to {target.email} for {ticket.ref}.",
                {"action": name, "actor": engineer.directory_id, "target": target.directory_id},
            )
        return said(turn, issued)
    reset = await perform_reset(
        turn, target, engineer, verification="engineer_role", ticket=ticket.ref
    )
    replies = said(turn, reset)
    if reset.done:  # security sees every reset for others
        turn.alert_security(
            f"engineer-reset:{turn.request_id}",
            f"{engineer.email} reset the password of {target.email} for {ticket.ref}.",
            {"action": name, "actor": engineer.directory_id, "target": target.directory_id},
        )
    return replies
