"""Licence and group checks on your own account: "do I have Visio?", "am I in the VPN group?"."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from importlib import resources
from typing import ClassVar

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bot.handlers.account_facts import facts_first
from bot.handlers.base import Turn, human_choice
from bot.handlers.outcomes import said
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import Licence
from bot.integrations.skus import plan_name, sku_catalogue, sku_name
from bot.messages import Choice, Reply
from bot.selfservice.approvals import request_group_access
from bot.store.conversations import PendingFlow

_WORDS = re.compile(r"[a-z0-9][a-z0-9+&-]*")
# Words of the question itself, not of a product or group name.
_QUESTION_WORDS = frozenset(
    """
    a am an any are check do does got group groups grp have i if im in is it licence
    licences license licenses licensed me member membership members my of on part please
    pls plz the to what which whether you u dl list lists distribution mailing security
    access team can could tell show see know want need assigned belong belongs included
    inside acc account really get give grant join add request requesting
    """.split()
)
_HAN = re.compile(r"[\u3400-\u9fff]+")
_REQUEST = "request:open"


def _request(t: Translator) -> tuple[Choice, ...]:
    return (Choice(t("request.open"), _REQUEST, "primary"), human_choice(t))


@cache
def products() -> dict[str, tuple[str, ...]]:
    """What people ask for → words to look for in licence and plan names (products.toml)."""
    raw = resources.files("bot.handlers").joinpath("products.toml").read_text("utf-8")
    return {k: tuple(v) for k, v in tomllib.loads(raw)["products"].items()}


def _catalogue_products() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in sku_catalogue().get("products", {}).items()}


def _suites() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in sku_catalogue().get("sku_products", {}).items()}


def _subject(text: str) -> str:
    """The name being asked about: the message without question words or Chinese filler."""
    folded = _HAN.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(w for w in _WORDS.findall(folded) if w not in _QUESTION_WORDS)


def _wanted_product(subject: str) -> str | None:
    if not subject:
        return None
    names = sorted({*products(), *_catalogue_products(), *_suites()})
    match = process.extractOne(subject, names, scorer=fuzz.WRatio, score_cutoff=86)
    return None if match is None else str(match[0])


def _provides(licence: Licence, needles: tuple[str, ...]) -> bool:
    name = licence.name.lower()
    return any(n in name or n == licence.sku.lower() for n in needles)


def _providers(product: str) -> list[str]:
    """Licence names that would provide `product`, most common first (suites first)."""
    catalogue = sku_catalogue().get("skus", {})
    plans = set(_catalogue_products().get(product, ()))
    parts = list(_suites().get(product, ()))
    parts += [part for part, sku in catalogue.items() if plans & set(sku.get("plans", ()))]
    names: list[str] = []
    for part in parts:
        name = sku_name(part)
        if name not in names:
            names.append(name)
    return names


def _has(licence: Licence, product: str) -> tuple[bool, str | None]:
    """(provides it, the disabled plan that would provide it)."""
    if licence.sku in _suites().get(product, ()):
        return True, None
    plans = set(_catalogue_products().get(product, ()))
    if plans & set(licence.plans):
        return True, None
    needles = products().get(product, ())
    disabled = [
        p
        for p in licence.disabled_plans
        if p in plans or any(n in plan_name(p).lower() for n in needles)
    ]
    if disabled:
        return False, plan_name(disabled[0])
    if not licence.plans and needles and _provides(licence, needles):
        return True, None  # a backend without plan detail (the demo): by name
    return False, None


def providing_licence(licences: tuple[Licence, ...], name: str) -> tuple[str, str] | None:
    """(product, licence) when one of `licences` already provides the product `name` names."""
    product = _wanted_product(_subject(name))
    for licence in licences if product else ():
        if _has(licence, product or "")[0]:
            return (product or "").title(), licence.name
    return None


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
        product = _wanted_product(_subject(turn.msg.text))
        names = ", ".join(lic.name for lic in licences) or t("licence.none_short")
        if product is None:
            if not licences:
                return [Reply(t("licence.none"), choices=(human_choice(t),))]
            return [Reply(t("licence.list", licences=names))]
        for licence in licences:
            has, plan = _has(licence, product)
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
        providers = _providers(product)[:3]
        turn.expect(
            "licence_check.request",
            {"product": product.title(), "providers": ", ".join(providers)},
        )
        text = t("licence.no", product=product.title(), licences=names)
        if providers:
            text += "\n" + t("licence.provided_by", licences=", ".join(providers))
        return [Reply(text, choices=_request(t))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        if turn.picked(_request(turn.t)) != _REQUEST:
            return None
        product = str(pending.state.get("product", ""))
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
        subject = _subject(turn.msg.text)
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
