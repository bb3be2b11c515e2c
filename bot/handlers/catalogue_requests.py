"""Requests from the catalogue: "can I get a second monitor?", 「我想申請Visio」, "access to the
Finance share".

An item of `settings.catalogue` (`bot/request_catalogue.py`) is offered with who approves it
and who fulfils it; one click opens the request ticket, filled in from the item (summary,
category, priority, team). With a manager as approver, the manager gets Approve / Deny
through the approval store (`bot.store.approvals`, a one-time nonce, `tickets.
request_approval_days` to answer); every step is written on the ticket, so "has it been
approved?" (the ticket status) shows where it stands, and the requester is told of the
decision. A declined request's ticket is cancelled.

Access to a share, group or shared mailbox is resolved against the directory: the closest
groups of `graph.requestable_groups` are offered as buttons (never a name made from the
user's words), and the pick goes to the group owner's approval (`request_group_access`).
"""

from __future__ import annotations

from datetime import timedelta

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bot.handlers.base import Turn, human_choice
from bot.handlers.licence_match import providing_licence
from bot.handlers.outcomes import said
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import Account, DirectoryError, Unavailable
from bot.messages import Choice, Reply
from bot.request_catalogue import REQUEST_CONFIRM_FLOW, CatalogueItem
from bot.selfservice.approval_ask import ask_approver
from bot.selfservice.approvals import approver_for, request_group_access, tell_requester
from bot.store.approvals import Approval
from bot.store.conversations import PendingFlow
from bot.tickets.model import OPEN

CATALOGUE_REQUEST = "catalogue_request"
"""The approval action of a catalogue request; its subject is the ticket number."""
CONFIRM_FLOW = REQUEST_CONFIRM_FLOW
GROUP_FLOW = "request.group"
_SEND = "request:send"
_GROUP = "request:group:"
_TICKET = "request:ticket"
_MAX_GROUPS = 3
_MIN_SCORE = 50
_NEAR_BEST = 15
_NAMED = 80


def _lang(code: str) -> Translator:
    return Translator("zh-Hant" if code == "zh-Hant" else "en")


async def _held(turn: Turn, item: CatalogueItem) -> tuple[str, str] | None:
    """For a licence item: (product, licence) when the actor has it already."""
    if item.kind != "licence":
        return None
    try:
        account = await turn.account("licence_check")
        licences = await turn.services.directory.licences(account)
    except DirectoryError:
        return None  # the request can still be made; the team checks
    return providing_licence(licences, item.name)


async def offer(turn: Turn, item: CatalogueItem) -> list[Reply]:
    """Say what the request is, who approves it and who fulfils it; wait for the click. A
    licence the actor already has is said instead."""
    t = turn.t
    held = await _held(turn, item)
    if held is not None:
        return [Reply(t("licence.yes", product=held[0], licence=held[1]))]
    turn.expect(CONFIRM_FLOW, {"item": item.name, "text": turn.msg.text})
    text = t(
        "request.offer",
        item=item.name,
        approver=t(f"request.approver.{item.approver}"),
        team=item.team,
        priority=item.priority,
    )
    return [Reply(text, choices=(Choice(t("request.send"), _SEND, "primary"), human_choice(t)))]


def closest_groups(turn: Turn, *, strong: bool = False) -> list[str]:
    """The requestable groups closest to the message, best first (at most three); `strong`:
    only those the message names outright."""
    requestable = list(turn.services.settings.graph.requestable_groups)
    scored = process.extract(
        turn.msg.text,
        requestable,
        scorer=fuzz.token_set_ratio,
        processor=default_process,
        limit=_MAX_GROUPS,
    )
    if not scored or scored[0][1] < (_NAMED if strong else _MIN_SCORE):
        return []
    best = scored[0][1]
    return [str(name) for name, score, _ in scored if score >= max(_MIN_SCORE, best - _NEAR_BEST)]


async def _member_of(turn: Turn) -> frozenset[str]:
    """The groups the actor is in (audited as a group check); none known if the directory
    cannot say (the owner's approval path checks the account again)."""
    try:
        account = await turn.account("group_check")
        groups = await turn.services.directory.groups(account)
    except DirectoryError:
        return frozenset()
    turn.audit(action="group_check", outcome="done", target=account, actor=account)
    return frozenset(groups)


async def offer_groups(turn: Turn) -> list[Reply]:
    """Offer the closest real requestable groups the actor is not in yet; already in the
    closest one: say so; none close: a ticket for the service desk."""
    t = turn.t
    groups = closest_groups(turn)
    member = await _member_of(turn) if groups else frozenset()
    if groups and groups[0] in member:
        return [Reply(t("group.yes", group=groups[0]))]
    groups = [group for group in groups if group not in member]
    if not groups:
        turn.expect(GROUP_FLOW, {"groups": [], "text": turn.msg.text})
        return [
            Reply(
                t("request.no_group"),
                choices=(Choice(t("request.ticket"), _TICKET, "primary"), human_choice(t)),
            )
        ]
    turn.expect(GROUP_FLOW, {"groups": groups, "text": turn.msg.text})
    choices = tuple(
        Choice(t("group.request", group=group), f"{_GROUP}{i}") for i, group in enumerate(groups)
    )
    return [Reply(t("request.which_group"), choices=(*choices, human_choice(t)))]


async def resume(turn: Turn, pending: PendingFlow) -> list[Reply] | None:
    """A click (or a typed number or label) on a catalogue offer; None for anything else."""
    t = turn.t
    text = str(pending.state.get("text", ""))
    if pending.flow == GROUP_FLOW:
        groups = [str(g) for g in pending.state.get("groups", [])]
        choices = tuple(
            Choice(t("group.request", group=g), f"{_GROUP}{i}") for i, g in enumerate(groups)
        ) or (Choice(t("request.ticket"), _TICKET),)
        picked = turn.picked(choices)
        if picked is None:
            return None
        turn.done()
        if picked == _TICKET:
            return await propose_ticket(
                turn,
                summary=t("request.access_summary"),
                description=t("group.request_description", name=text),
                category="account & access",
            )
        return said(
            turn, await request_group_access(turn, groups[int(picked.removeprefix(_GROUP))])
        )
    item = next(
        (i for i in turn.services.settings.catalogue if i.name == pending.state.get("item")), None
    )
    if item is None or turn.picked((Choice(t("request.send"), _SEND, "primary"),)) is None:
        return None
    turn.done()
    return await send(turn, item, text)


async def send(turn: Turn, item: CatalogueItem, text: str) -> list[Reply]:
    """Open the request ticket, filled in from the item, and ask its approver."""
    t, services = turn.t, turn.services
    account = await turn.requester()
    ticket, _ = turn.open_ticket(
        summary=t("request.summary", text=item.name),
        description=t("request.description", item=item.name, text=text),
        category=item.category,
        priority=item.priority,
        key=f"request:{turn.request_id}",
        requester=account,
        fault=False,
    )
    if item.team != ticket.team:
        services.tickets.assign(ticket.number, services.settings.bot.name, team=item.team)
    if item.approver == "none":
        return [Reply(t("request.opened", ref=ticket.ref, item=item.name, team=item.team))]
    try:
        found = await approver_for(turn, account) if account else None
    except Unavailable:
        found = None
    if account is None or found is None:
        services.tickets.approval(ticket.number, services.settings.bot.name, t("request.no_one"))
        return [Reply(t("request.opened_no_approver", ref=ticket.ref, item=item.name))]
    approver, kind = found
    days = services.settings.tickets.request_approval_days
    role = t(f"approval.role.{kind}")
    ask_approver(
        turn,
        account,
        approver,
        kind,
        action=CATALOGUE_REQUEST,
        lifetime=timedelta(days=days),
        text=t(
            "request.approval_ask",
            name=account.display_name,
            email=account.email,
            item=item.name,
            ref=ticket.ref,
            role=role,
            days=days,
        ),
        subject=str(ticket.number),
        subject_name=item.name,
        reason=item.name,
        ticket=ticket.ref,
    )
    services.tickets.approval(
        ticket.number,
        approver.email,
        t("request.state.pending", approver=approver.display_name, role=role),
    )
    return [
        Reply(
            t(
                "request.sent",
                ref=ticket.ref,
                item=item.name,
                approver=approver.display_name,
                team=item.team,
            )
        )
    ]


def decide(turn: Turn, approval: Approval, approver: Account, *, approve: bool) -> list[Reply]:
    """The approver answered (the caller checked nonce, approver and expiry): write it on the
    ticket, cancel a declined one, tell the requester, audit."""
    services = turn.services
    number = int(approval.subject)
    ticket = services.tickets.require(number)
    written = _lang(ticket.requester_lang)
    outcome = "approved" if approve else "denied"
    services.tickets.approval(
        number, approver.email, written(f"request.state.{outcome}", approver=approver.display_name)
    )
    if not approve and ticket.state in OPEN:
        services.tickets.cancel(number, approver.email, written("request.cancelled"))
    if approve:
        services.approvals.use(approval.id)
    turn.audit(
        action=CATALOGUE_REQUEST,
        outcome=outcome,
        target=approval.target,
        actor=approver,
        reason=f"{approval.subject_name}; approval {approval.id} by {approval.approver_kind}",
        verification="approval",
        ticket=ticket.ref,
    )
    requester_t = _lang(approval.requester_lang)
    tell_requester(
        turn,
        approval,
        requester_t(
            f"request.told_{outcome}",
            approver=approver.display_name,
            item=approval.subject_name,
            ref=ticket.ref,
        ),
        [],
    )
    return [
        Reply(
            turn.t(
                f"request.{outcome}_ok",
                email=approval.requester_email,
                item=approval.subject_name,
                ref=ticket.ref,
            )
        )
    ]
