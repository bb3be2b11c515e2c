"""Licence and group checks on your own account: "do I have Visio?", "am I in the VPN group?".

A product you don't have is offered as a request: one the request catalogue names opens
its request ticket with its approval at once ("Request it" is the catalogue's "Send the
request", `bot.handlers.catalogue_requests.send`); any other is a ticket proposal.
"""

from __future__ import annotations

from typing import ClassVar

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bot.handlers.account_facts import facts_first
from bot.handlers.base import Turn, human_choice
from bot.handlers.licence_match import has_product, providers_of, wanted_product
from bot.handlers.licence_match import subject as subject_of
from bot.handlers.outcomes import said
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.messages import Choice, Reply
from bot.request_catalogue import CatalogueItem
from bot.selfservice.approvals import request_group_access
from bot.store.conversations import PendingFlow

_REQUEST = "request:open"


def _request(t: Translator) -> tuple[Choice, ...]:
    return (Choice(t("request.open"), _REQUEST, "primary"), human_choice(t))


class LicenceCheck:
    """Which Microsoft 365 licences you have: `do I have Visio?`, `what licences do I have`."""

    intent: ClassVar[str] = "licence_check"

    async def handle(self, turn: Turn) -> list[Reply]:
        return await facts_first(turn, "licence_check", await self._check(turn))

    async def _check(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account("licence_check")
        licences = await turn.services.directory.licences(account)
        turn.audit(action="licence_check", outcome="done", target=account, actor=account)
        product = wanted_product(subject_of(turn.msg.text))
        names = ", ".join(lic.name for lic in licences) or t("licence.none_short")
        if product is None:
            if not licences:
                return [Reply(t("licence.none"), choices=(human_choice(t),))]
            return [Reply(t("licence.list", licences=names))]
        for licence in licences:
            has, plan = has_product(licence, product)
            if plan:
                return [
                    Reply(
                        t(
                            "licence.disabled",
                            product=product.title(),
                            licence=licence.name,
                            plan=plan,
                        ),
                        choices=(human_choice(t),),
                    )
                ]
            if has:
                return [Reply(t("licence.yes", product=product.title(), licence=licence.name))]
        providers = providers_of(product)[:3]
        turn.expect(
            "licence_check.request",
            {
                "product": product.title(),
                "providers": ", ".join(providers),
                "text": turn.msg.text,
            },
        )
        text = t("licence.no", product=product.title(), licences=names)
        if providers:
            text += "\n" + t("licence.provided_by", licences=", ".join(providers))
        return [Reply(text, choices=_request(t))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        if turn.picked(_request(turn.t)) != _REQUEST:
            return None
        product = str(pending.state.get("product", ""))
        item = _catalogue_item(turn, product)
        if item is not None:  # as the catalogue's "Send the request"
            turn.done()
            from bot.handlers.catalogue_requests import send

            return await send(turn, item, str(pending.state.get("text") or product))
        return await propose_ticket(
            turn,
            summary=f"Licence request: {product}",
            description=turn.t("licence.request_description", product=product)
            + (
                "\n" + turn.t("licence.provided_by", licences=pending.state["providers"])
                if pending.state.get("providers")
                else ""
            ),
            category="software",
        )


def _catalogue_item(turn: Turn, product: str) -> CatalogueItem | None:
    """The catalogue's item for `product` itself: one of its words, or a whole word of its
    name ("Project" is "Microsoft Project"); never a near spelling ("Power Automate" is no
    "Power BI Pro", which `find_item`'s typo rule would take)."""
    wanted = product.lower()
    for item in turn.services.settings.catalogue:
        if item.access:
            continue
        name = f" {item.name.lower()} "
        if wanted in (w.lower() for w in item.words) or f" {wanted} " in name:
            return item
    return None


_ASK_ACCESS = "group:request"


class GroupCheck:
    """Which groups you are in, and asking to join one: `am I in the VPN group?`,
    `I need access to Finance Share RW` (the group's owner approves)."""

    intent: ClassVar[str] = "group_check"

    async def handle(self, turn: Turn) -> list[Reply]:
        return await facts_first(turn, "group_check", await self._check(turn))

    async def _check(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account("group_check")
        groups = await turn.services.directory.groups(account)
        turn.audit(action="group_check", outcome="done", target=account, actor=account)
        subject = subject_of(turn.msg.text)
        listed = ", ".join(sorted(groups)) or t("group.none_short")
        if not subject:
            return [Reply(t("group.list", groups=listed))]
        scored = process.extract(
            subject, list(groups), scorer=fuzz.token_set_ratio, processor=default_process, limit=1
        )
        if scored and scored[0][1] >= 80:
            return [Reply(t("group.yes", group=scored[0][0]))]
        requestable = list(turn.services.settings.graph.requestable_groups)
        wanted = process.extractOne(
            subject, requestable, scorer=fuzz.token_set_ratio, processor=default_process
        )
        if wanted is not None and wanted[1] >= 80:
            group = str(wanted[0])
            turn.expect("group_check.request", {"group": group})
            return [
                Reply(
                    t("group.no_requestable", group=group),
                    choices=(Choice(t("group.request", group=group), _ASK_ACCESS, "primary"),),
                )
            ]
        return [Reply(t("group.no", name=subject, groups=listed), choices=(human_choice(t),))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        group = str(pending.state.get("group", ""))
        if turn.picked((Choice(turn.t("group.request", group=group), _ASK_ACCESS),)) is None:
            return None
        turn.done()
        return said(turn, await request_group_access(turn, group))
