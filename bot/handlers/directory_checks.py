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

from bot.handlers.base import Turn, human_choice
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import Licence
from bot.messages import Choice, Reply
from bot.store.conversations import PendingFlow

_WORDS = re.compile(r"[a-z0-9][a-z0-9+&-]*")
# Words of the question itself, not of a product or group name.
_QUESTION_WORDS = frozenset(
    """
    a am an any are check do does got group groups grp have i if im in is it licence
    licences license licenses licensed me member membership members my of on part please
    pls plz the to what which whether you u dl list lists distribution mailing security
    access team can could tell show see know want need assigned belong belongs included
    inside acc account really
    """.split()
)
_HAN = re.compile(r"[\u3400-\u9fff]+")
_REQUEST = "request:open"


def _request(t: Translator) -> tuple[Choice, ...]:
    return (Choice(t("request.open"), _REQUEST, "primary"), human_choice(t))


@cache
def products() -> dict[str, tuple[str, ...]]:
    raw = resources.files("bot.handlers").joinpath("products.toml").read_text("utf-8")
    return {k: tuple(v) for k, v in tomllib.loads(raw)["products"].items()}


def _subject(text: str) -> str:
    """The name being asked about: the message without question words or Chinese filler."""
    folded = _HAN.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(w for w in _WORDS.findall(folded) if w not in _QUESTION_WORDS)


def _wanted_product(subject: str) -> str | None:
    if not subject:
        return None
    match = process.extractOne(subject, list(products()), scorer=fuzz.WRatio, score_cutoff=86)
    return None if match is None else str(match[0])


def _provides(licence: Licence, needles: tuple[str, ...]) -> bool:
    name = licence.name.lower()
    return any(n in name or n == licence.sku.lower() for n in needles)


class LicenceCheck:
    """Which Microsoft 365 licences you have: `do I have Visio?`, `what licences do I have`."""

    intent: ClassVar[str] = "licence_check"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account()
        licences = await turn.services.directory.licences(account)
        turn.audit(action="licence_check", outcome="done", target=account, actor=account)
        product = _wanted_product(_subject(turn.msg.text))
        names = ", ".join(lic.name for lic in licences) or t("licence.none_short")
        if product is None:
            if not licences:
                return [Reply(t("licence.none"), choices=(human_choice(t),))]
            return [Reply(t("licence.list", licences=names))]
        needles = products()[product]
        for licence in licences:
            disabled = [p for p in licence.disabled_plans if any(n in p.lower() for n in needles)]
            if disabled:
                return [
                    Reply(
                        t(
                            "licence.disabled",
                            product=product.title(),
                            licence=licence.name,
                            plan=disabled[0],
                        ),
                        choices=(human_choice(t),),
                    )
                ]
            if _provides(licence, needles):
                return [Reply(t("licence.yes", product=product.title(), licence=licence.name))]
        turn.expect("licence_check.request", {"product": product.title()})
        return [
            Reply(t("licence.no", product=product.title(), licences=names), choices=_request(t))
        ]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        if turn.picked(_request(turn.t)) != _REQUEST:
            return None
        product = str(pending.state.get("product", ""))
        return propose_ticket(
            turn,
            summary=f"Licence request: {product}",
            description=turn.t("licence.request_description", product=product),
            category="software",
        )


class GroupCheck:
    """Which groups you are in: `am I in the VPN group?`, `which groups am I in`."""

    intent: ClassVar[str] = "group_check"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account()
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
        return [Reply(t("group.no", name=subject, groups=listed), choices=(human_choice(t),))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
